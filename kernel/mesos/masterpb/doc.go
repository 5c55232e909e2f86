// Package masterpb holds the Go types for the Mesos v1 master operator API
// (proto package mesos.v1.master): the Call and Response of POST /api/v1 on
// the master and the Event stream answered to SUBSCRIBE.
//
// The .pb.go file is generated from master.proto beside it with `make proto`
// (scripts/genproto.sh); do not edit it by hand. Field numbers follow Mesos v1
// exactly. The quota, maintenance and allocator messages it refers to live in
// package mesospb under their upstream proto packages (mesos.v1.quota,
// mesos.v1.maintenance, mesos.v1.allocator).
package masterpb
