// Package secrets resolves the secrets a task or executor names in its
// environment (Mesos' environment_secret isolator with a file-backed secret
// resolver).
//
// A secret is either a VALUE, whose data travels in the TaskInfo, or a
// REFERENCE to a named secret held by the agent's host: the name is a path
// ("/db/password") under the agent's secrets directory, and an optional key
// selects one field of a secret file holding a JSON object. Only the agent
// ever reads the data: the master and the frameworks see the reference, and
// the agent hands the resolved value to the executor alone, never writing it
// to its checkpoints or logs.
package secrets
