// Package schedulerpb holds the Go types for the Mesos v1 scheduler API
// (proto package mesos.v1.scheduler): the Call a framework POSTs to
// /api/v1/scheduler, the Event stream it receives, and the offer-constraint
// messages used by SUBSCRIBE and UPDATE_FRAMEWORK.
//
// The .pb.go file is generated from scheduler.proto beside it with
// `make proto` (scripts/genproto.sh); do not edit it by hand. Field numbers
// follow Mesos v1 exactly (e.g. Call.framework_id=1, Call.type=2).
package schedulerpb
