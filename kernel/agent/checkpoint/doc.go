// Package checkpoint persists what the agent must know after a restart, for
// frameworks that asked for it (FrameworkInfo.checkpoint), and reads it back.
//
// The files live in the meta tree described by package sandbox. Their format
// is Strata's own (the meta tree is private to the agent):
//
//   - *.info files (slave.info, framework.info, executor.info, task.info) hold
//     one binary protobuf message each: mesos.v1.AgentInfo, FrameworkInfo,
//     ExecutorInfo and Task respectively;
//   - forked.pid holds the executor's pid in decimal and a newline;
//   - boot_id holds the kernel boot id the agent ran under;
//   - http.marker and completed are empty marker files;
//   - task.updates is written by package statusupdate (see there).
//
// Every whole-file write is atomic: the data goes to a temporary file in the
// same directory, which is synced and renamed over the target, and the
// directory is synced. A crash leaves either the old or the new file, never a
// torn one.
//
// Recover walks the tree and returns a State; unreadable entries are
// skipped with an error collected in State.Errors, so one corrupt file does
// not prevent the recovery of everything else.
package checkpoint
