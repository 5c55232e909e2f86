// Package statusupdate is the agent's status update manager: it makes task
// status updates reach the scheduler at least once and in order.
//
// Every update (from an executor, or made by the agent itself) carries a
// uuid. For each task the manager keeps a stream: the updates not yet
// acknowledged, in the order received. Only the front update of a stream is
// in flight: it is handed to Config.Forward (which sends it to the master)
// and re-sent with exponential backoff, from RetryMin doubling up to RetryMax,
// until the master relays the scheduler's acknowledgement for exactly that
// uuid (Acknowledge); then the next update of the stream goes out at once.
// An acknowledgement for any other uuid is ignored. Once a terminal update is
// acknowledged and nothing is left behind it the stream is closed. Updates are
// forwarded with latest_state set to the state of the newest update received
// for the task, which the master uses to release resources early.
//
// While the agent is not registered the manager is paused (it starts
// paused): updates are accepted and stored but nothing is sent. Resume sends
// the front of every stream immediately.
//
// # Checkpoint format (task.updates)
//
// For tasks of checkpointing frameworks the stream is also written to a file,
// before Update returns, so that an acknowledged executor update survives an
// agent crash. The file is a sequence of RecordIO records (decimal length,
// "\n", payload) appended and fsynced one at a time. The first payload byte
// is the record kind:
//
//	'U' followed by a binary strata.internal.AgentCall.StatusUpdate: an
//	    update was received;
//	'A' followed by the raw uuid bytes: the update with that uuid was
//	    acknowledged.
//
// Replaying the records in order rebuilds the stream (Recover). A record cut
// short by a crash at the end of the file is dropped and the file truncated
// to the last whole record; any other malformed content is an error.
package statusupdate
