// Package mesospb holds the Go types for the Mesos v1 core protocol
// messages (proto package mesos.v1): IDs, FrameworkInfo, Offer and its
// operations, TaskInfo, TaskStatus, Resource, ContainerInfo and the rest of
// the shared vocabulary used by the scheduler, executor, master and agent APIs.
//
// The .pb.go files are generated from the .proto files beside them with
// `make proto` (scripts/genproto.sh); do not edit them by hand. Besides
// mesos.proto, the package holds the small upstream side files the operator
// API needs, each under its upstream proto package so fully-qualified names
// match Mesos: quota.proto (mesos.v1.quota), maintenance.proto
// (mesos.v1.maintenance) and allocator.proto (mesos.v1.allocator). They share
// this one Go package because their Go names do not collide.
//
// Message names, field names, field numbers, types, labels and defaults
// follow Mesos v1 exactly so that Strata interoperates on the wire with any
// Mesos protobuf client.
package mesospb
