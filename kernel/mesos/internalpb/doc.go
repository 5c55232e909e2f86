// Package internalpb holds the Go types for Strata's own master <-> agent
// protocol (proto package strata.internal): AgentCall, sent by an agent to
// the master, and AgentEvent, sent by the master to an agent.
//
// This protocol is Strata's, not Mesos': only Strata masters and agents speak
// it. It embeds mesos.v1 types (package mesospb) for everything that also
// appears in the public APIs, whose field numbers follow Mesos v1. The .pb.go
// file is generated from internal.proto beside it with `make proto`
// (scripts/genproto.sh); do not edit it by hand.
package internalpb
