// Package agentpb holds the Go types for the Mesos v1 agent operator API
// (proto package mesos.v1.agent): the Call and Response of POST /api/v1 on
// the agent and the ProcessIO records of the container I/O streams.
//
// The .pb.go file is generated from agent.proto beside it with `make proto`
// (scripts/genproto.sh); do not edit it by hand. Field numbers follow Mesos v1
// exactly; every upstream call type and body is present.
package agentpb
