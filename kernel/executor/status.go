package executor

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
)

// newUUID returns a random (version 4, RFC 4122 variant) UUID as the 16 raw
// bytes Mesos carries in TaskStatus.uuid.
func newUUID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}

// formatUUID renders raw UUID bytes in the canonical 8-4-4-4-12 form for
// logs; other lengths are rendered as plain hex.
func formatUUID(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// isTerminal reports whether a task in state s can no longer run.
func isTerminal(s mesospb.TaskState) bool {
	switch s {
	case mesospb.TaskState_TASK_FINISHED, mesospb.TaskState_TASK_FAILED, mesospb.TaskState_TASK_KILLED,
		mesospb.TaskState_TASK_ERROR, mesospb.TaskState_TASK_DROPPED, mesospb.TaskState_TASK_GONE,
		mesospb.TaskState_TASK_LOST:
		return true
	}
	return false
}

// pendingUpdate is a status update the agent has not acknowledged yet.
type pendingUpdate struct {
	update *executorpb.Call_Update
	// gen is the connection generation on which the update was last sent,
	// by UPDATE or as part of SUBSCRIBE; 0 means never.
	gen int
	// delivered is set once an UPDATE call for it was accepted (2xx).
	delivered bool
}

func (p *pendingUpdate) status() *mesospb.TaskStatus { return p.update.GetStatus() }

// newStatus returns a fresh TaskStatus from this executor: a new uuid, the
// current time, the executor and agent ids.
func (e *executor) newStatus(taskID *mesospb.TaskID, state mesospb.TaskState) *mesospb.TaskStatus {
	st := &mesospb.TaskStatus{
		TaskId:     proto.CloneOf(taskID),
		State:      state.Enum(),
		Source:     mesospb.TaskStatus_SOURCE_EXECUTOR.Enum(),
		Uuid:       newUUID(),
		Timestamp:  proto.Float64(float64(time.Now().UnixNano()) / 1e9),
		ExecutorId: &mesospb.ExecutorID{Value: proto.String(e.cfg.ExecutorID)},
	}
	if e.agentID != nil {
		st.AgentId = proto.CloneOf(e.agentID)
	}
	return st
}

// restamp returns a copy of st with a fresh uuid and timestamp, for updates
// that repeat the previous status with a change (health results).
func restamp(st *mesospb.TaskStatus) *mesospb.TaskStatus {
	c := proto.CloneOf(st)
	c.Uuid = newUUID()
	c.Timestamp = proto.Float64(float64(time.Now().UnixNano()) / 1e9)
	return c
}

// containerStatus describes where task t runs: the executor's pid, the
// task's nested container id or else the container id from SUBSCRIBED, and
// the host IP.
func (e *executor) containerStatus(t *task) *mesospb.ContainerStatus {
	cs := &mesospb.ContainerStatus{ExecutorPid: proto.Uint32(uint32(e.pid))}
	switch {
	case t != nil && t.containerID != nil:
		cs.ContainerId = proto.CloneOf(t.containerID)
	case e.containerID != nil:
		cs.ContainerId = proto.CloneOf(e.containerID)
	}
	if t != nil && t.ctr != nil {
		// mesos-docker-executor reports the container's IP (docker
		// inspect); one on the host network has none of its own.
		if nis := t.ctr.networkInfos(); len(nis) > 0 {
			cs.NetworkInfos = nis
			return cs
		}
	}
	if ni := networkInfo(e.hostIP); ni != nil {
		cs.NetworkInfos = []*mesospb.NetworkInfo{ni}
	}
	return cs
}
