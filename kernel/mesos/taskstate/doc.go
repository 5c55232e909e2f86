// Package taskstate holds the rules about Mesos task states that every part of the kernel shares:
// which states are terminal, and which states only partition-aware frameworks may see.
package taskstate
