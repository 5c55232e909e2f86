// Package executorpb holds the Go types for the Mesos v1 executor API
// (proto package mesos.v1.executor): the Call an executor POSTs to the agent's
// /api/v1/executor and the Event stream it receives.
//
// The .pb.go file is generated from executor.proto beside it with
// `make proto` (scripts/genproto.sh); do not edit it by hand. Field numbers
// follow Mesos v1 exactly (e.g. Call.executor_id=1, Call.framework_id=2,
// Call.type=3).
package executorpb
