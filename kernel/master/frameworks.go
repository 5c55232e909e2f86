package master

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/ids"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/store"
)

// validateID applies Mesos' rules for ids (kernel/mesos/ids) and names the offending field.
func validateID(field, id string) error {
	if err := ids.Validate(id); err != nil {
		return fmt.Errorf("'%s' is not a valid id: %v", field, err)
	}
	return nil
}

// validateRole applies Mesos' role name rules.
func validateRole(role string) error {
	if role == "*" {
		return nil
	}
	if role == "" {
		return fmt.Errorf("role must not be empty")
	}
	for _, part := range strings.Split(role, "/") {
		switch {
		case part == "" || part == "." || part == "..":
			return fmt.Errorf("role %q has an empty, '.' or '..' component", role)
		case strings.HasPrefix(part, "-"):
			return fmt.Errorf("role %q has a component starting with '-'", role)
		case part == "*":
			return fmt.Errorf("role %q uses '*' as a component", role)
		}
		for _, r := range part {
			if r <= 0x20 || r == 0x7f || r == '\\' {
				return fmt.Errorf("role %q contains a space, control character or backslash", role)
			}
		}
	}
	return nil
}

// normalizeFrameworkInfo drops a `role` of "*" from a MULTI_ROLE FrameworkInfo. Mesos-style JSON
// writes proto defaults out, so a client that echoes a FrameworkInfo it decoded from JSON sends
// "role":"*" beside its roles; Mesos rejects that, Strata reads it as the unset default it is.
func normalizeFrameworkInfo(fi *mesospb.FrameworkInfo) {
	if fi != nil && fi.Role != nil && fi.GetRole() == "*" && hasCapability(fi, mesospb.FrameworkInfo_Capability_MULTI_ROLE) {
		fi.Role = nil
	}
}

// immutableChange names the first field of a FrameworkInfo that may not change once registered.
func immutableChange(old, info *mesospb.FrameworkInfo) string {
	switch {
	case info.GetPrincipal() != old.GetPrincipal():
		return "principal"
	case info.GetUser() != old.GetUser():
		return "user"
	case info.GetCheckpoint() != old.GetCheckpoint():
		return "checkpoint"
	}
	return ""
}

func validateFrameworkInfo(fi *mesospb.FrameworkInfo) error {
	if fi == nil {
		return fmt.Errorf("Expecting 'framework_info' to be present")
	}
	if fi.Id != nil {
		if err := validateID("framework_info.id", fi.GetId().GetValue()); err != nil {
			return err
		}
	}
	multi := hasCapability(fi, mesospb.FrameworkInfo_Capability_MULTI_ROLE)
	if multi && fi.Role != nil {
		return fmt.Errorf("'FrameworkInfo.role' must not be set when the MULTI_ROLE capability is set")
	}
	if !multi && len(fi.GetRoles()) > 0 {
		return fmt.Errorf("'FrameworkInfo.roles' is set but the MULTI_ROLE capability is not")
	}
	roles := fi.GetRoles()
	if !multi {
		roles = []string{fi.GetRole()}
	}
	seen := map[string]bool{}
	for _, r := range roles {
		if err := validateRole(r); err != nil {
			return fmt.Errorf("'FrameworkInfo.roles': %v", err)
		}
		if seen[r] {
			return fmt.Errorf("'FrameworkInfo.roles' contains duplicate role %q", r)
		}
		seen[r] = true
	}
	if ft := fi.GetFailoverTimeout(); math.IsNaN(ft) || ft < 0 {
		return fmt.Errorf("'FrameworkInfo.failover_timeout' must be a non-negative number")
	}
	return nil
}

// failoverTimeout is how long a disconnected framework is kept before it is removed.
func (m *Master) failoverTimeout(fi *mesospb.FrameworkInfo) time.Duration {
	if fi.FailoverTimeout == nil {
		return m.cfg.DefaultFailoverTimeout
	}
	secs := fi.GetFailoverTimeout()
	if secs > 365*24*3600 || math.IsInf(secs, 1) {
		secs = 365 * 24 * 3600
	}
	return time.Duration(secs * float64(time.Second))
}

// subscribe handles SUBSCRIBE: a new framework, a failover of a known one, or the first contact of a
// framework known from the store after a master restart.
func (m *Master) subscribe(c *gin.Context, call *schedulerpb.Call) {
	cd, ok := acceptCodec(c)
	if !ok {
		textError(c, http.StatusNotAcceptable, "Expecting 'Accept' to allow application/json or application/x-protobuf")
		return
	}
	if c.Request.Header.Get(streamIDHeader) != "" {
		textError(c, http.StatusBadRequest, "Subscribe calls should not include the '%s' header", streamIDHeader)
		return
	}
	info := proto.Clone(call.GetSubscribe().GetFrameworkInfo()).(*mesospb.FrameworkInfo)
	suppressed := call.GetSubscribe().GetSuppressedRoles()

	streamID := uuid.NewString()
	stream := newEventStream(streamID)

	m.mu.Lock()
	fw, errMsg := m.attachFramework(info, suppressed, stream, cd)
	m.mu.Unlock()

	startStream(c, cd, map[string]string{streamIDHeader: streamID})
	if errMsg != "" {
		// Mesos answers a removed framework with an ERROR event on a fresh stream, then closes it.
		rec, _ := cd.Marshal(&schedulerpb.Event{
			Type:  schedulerpb.Event_ERROR.Enum(),
			Error: &schedulerpb.Event_Error{Message: proto.String(errMsg)},
		})
		stream.send(rec)
		stream.close(errMsg)
		_ = stream.serve(c.Request.Context(), c.Writer)
		return
	}
	m.triggerAllocation()
	_ = stream.serve(c.Request.Context(), c.Writer)
	m.frameworkStreamEnded(fw, stream)
}

// attachFramework registers or re-registers a framework on a new stream and queues SUBSCRIBED. It
// returns an error message instead when the framework may not subscribe. m.mu is held.
func (m *Master) attachFramework(info *mesospb.FrameworkInfo, suppressed []string, stream *eventStream, cd codec.Codec) (*framework, string) {
	now := time.Now()
	id := info.GetId().GetValue()
	if id != "" && m.removedFrameworkIDs[id] {
		return nil, "Framework has been removed"
	}
	fw := m.frameworks[id]
	// Operator subscribers hear FRAMEWORK_ADDED for a framework this master did not know, and
	// FRAMEWORK_UPDATED for a failover (as Mesos does, without its MESOS-9470 quirk).
	added := fw == nil
	switch {
	case id == "":
		id = fmt.Sprintf("%s-%04d", m.id, m.nextFrameworkID)
		m.nextFrameworkID++
		info.Id = &mesospb.FrameworkID{Value: proto.String(id)}
		fw = m.newFramework(info, now)
		m.log.Info("framework registered", "framework_id", id, "name", info.GetName())
	case fw == nil:
		// A framework this master has never seen re-subscribes with its id (it was registered with
		// a previous master): accept it, as Mesos does.
		fw = m.newFramework(info, now)
		fw.reregisteredTime = now
		m.log.Info("framework re-registered after master failover", "framework_id", id, "name", info.GetName())
	default:
		if field := immutableChange(fw.info, info); field != "" {
			return nil, fmt.Sprintf("Updating 'FrameworkInfo.%s' is unsupported", field)
		}
		if fw.stream != nil {
			m.sendToFramework(fw, &schedulerpb.Event{
				Type:  schedulerpb.Event_ERROR.Enum(),
				Error: &schedulerpb.Event_Error{Message: proto.String("Framework failed over")},
			})
			fw.stream.close("framework failed over")
		}
		if fw.failoverTimer != nil {
			fw.failoverTimer.Stop()
			fw.failoverTimer = nil
		}
		// Outstanding offers were made to the old connection: take them back.
		for _, o := range fw.offers {
			m.removeOffer(o, true)
		}
		m.updateFrameworkInfo(fw, info, suppressed)
		fw.reregisteredTime = now
		fw.recovered = false
		m.log.Info("framework failed over", "framework_id", id, "name", info.GetName())
	}
	fw.stream, fw.streamID, fw.codec = stream, stream.id, cd
	fw.connected, fw.active = true, true
	fw.unregisteredTime = time.Time{}
	fw.suppressedRoles = toSet(suppressed)
	m.allocatorAddOrUpdateFramework(fw)
	m.persistFramework(fw)

	heartbeat := m.cfg.HeartbeatInterval.Seconds()
	m.sendToFramework(fw, &schedulerpb.Event{
		Type: schedulerpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &schedulerpb.Event_Subscribed{
			FrameworkId:              info.GetId(),
			HeartbeatIntervalSeconds: proto.Float64(heartbeat),
			MasterInfo:               m.info,
		},
	})
	m.operatorFrameworkEvent(fw, added)
	return fw, ""
}

func (m *Master) newFramework(info *mesospb.FrameworkInfo, now time.Time) *framework {
	fw := &framework{
		id:             info.GetId().GetValue(),
		info:           info,
		registeredTime: now,
		tasks:          map[string]*task{},
		offers:         map[string]*offer{},
		executors:      map[string]map[string]*mesospb.ExecutorInfo{},
	}
	m.frameworks[fw.id] = fw
	return fw
}

// updateFrameworkInfo applies a new FrameworkInfo to a known framework (on failover or
// UPDATE_FRAMEWORK): offers for roles it left are rescinded. m.mu is held.
func (m *Master) updateFrameworkInfo(fw *framework, info *mesospb.FrameworkInfo, suppressed []string) {
	oldRoles := toSet(fw.roles())
	fw.info = info
	newRoles := toSet(fw.roles())
	for _, o := range fw.offers {
		if !newRoles[o.role] {
			m.removeOffer(o, true)
		}
	}
	_ = oldRoles
	fw.suppressedRoles = toSet(suppressed)
}

// updateFramework handles UPDATE_FRAMEWORK; it returns the HTTP status and an error message.
func (m *Master) updateFramework(fw *framework, u *schedulerpb.Call_UpdateFramework) (int, string) {
	info := proto.Clone(u.GetFrameworkInfo()).(*mesospb.FrameworkInfo)
	if field := immutableChange(fw.info, info); field != "" {
		return http.StatusBadRequest, "Updating 'FrameworkInfo." + field + "' is unsupported"
	}
	m.updateFrameworkInfo(fw, info, u.GetSuppressedRoles())
	m.allocatorAddOrUpdateFramework(fw)
	m.persistFramework(fw)
	for _, a := range m.agents {
		if len(a.tasks[fw.id]) > 0 || len(a.executors[fw.id]) > 0 {
			m.sendToAgent(a, agentEventUpdateFramework(info))
		}
	}
	m.operatorFrameworkEvent(fw, false)
	m.triggerAllocation()
	return http.StatusOK, ""
}

// frameworkStreamEnded runs when a subscription's HTTP response ends. If it was the framework's
// live stream, the framework is now disconnected: its offers go back and its failover clock starts.
func (m *Master) frameworkStreamEnded(fw *framework, stream *eventStream) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if fw.stream != stream {
		return // replaced by a newer subscription
	}
	fw.stream, fw.streamID = nil, ""
	if m.frameworks[fw.id] != fw || m.stopping {
		// Removed meanwhile, or the master is shutting down: that is no disconnection, and the
		// next master starts the failover clock when it recovers the framework.
		return
	}
	m.disconnectFramework(fw, time.Now())
}

// disconnectFramework marks a framework disconnected and starts its failover timer. m.mu is held.
func (m *Master) disconnectFramework(fw *framework, since time.Time) {
	fw.connected, fw.active = false, false
	fw.unregisteredTime = since
	m.alloc.DeactivateFramework(fw.id)
	for _, o := range fw.offers {
		m.removeOffer(o, false)
	}
	timeout := max(m.failoverTimeout(fw.info), fw.recoveryGrace) - time.Since(since)
	fw.recoveryGrace = 0
	if timeout < 0 {
		timeout = 0
	}
	m.log.Info("framework disconnected", "framework_id", fw.id, "failover_timeout", timeout.String())
	id := fw.id
	fw.failoverTimer = time.AfterFunc(timeout, func() { m.failoverExpired(id, since) })
	m.persistFramework(fw)
	m.operatorFrameworkEvent(fw, false)
}

func (m *Master) failoverExpired(id string, since time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fw := m.frameworks[id]
	if fw == nil || fw.connected || !fw.unregisteredTime.Equal(since) || m.stopping {
		return
	}
	m.removeFramework(fw, "failover timeout expired")
}

// removeFramework tears a framework down for good: its tasks are killed, its executors shut down,
// its offers taken back, and its id retired. m.mu is held.
func (m *Master) removeFramework(fw *framework, why string) {
	m.log.Info("removing framework", "framework_id", fw.id, "reason", why)
	now := time.Now()
	if fw.failoverTimer != nil {
		fw.failoverTimer.Stop()
		fw.failoverTimer = nil
	}
	for _, o := range fw.offers {
		m.removeOffer(o, false)
	}
	agentsToNotify := map[*agent]bool{}
	for _, t := range fw.tasks {
		if t.agent != nil {
			agentsToNotify[t.agent] = true
		}
		// A task that already reached a terminal state (it only awaited the acknowledgement of
		// that update) keeps it, as in Mesos, where a terminal task state is never overwritten:
		// a task that finished must not show up as killed, nor get a TASK_KILLED after its
		// TASK_FINISHED. Only live tasks are marked killed.
		if !isTerminal(t.t.GetState()) {
			m.transitionTask(t, mesospb.TaskState_TASK_KILLED, mesospb.TaskStatus_REASON_FRAMEWORK_REMOVED, "Framework "+fw.id+" removed", now)
		}
		m.completeTask(t)
	}
	for agentID := range fw.executors {
		if a := m.agents[agentID]; a != nil {
			agentsToNotify[a] = true
			m.removeExecutorsOf(a, fw.id)
		}
	}
	for a := range agentsToNotify {
		m.sendToAgent(a, agentEventShutdownFramework(fw.id))
	}
	m.alloc.RemoveFramework(fw.id)
	if fw.stream != nil {
		fw.stream.close("framework removed")
		fw.stream = nil
	}
	fw.connected, fw.active = false, false
	fw.removedTime = now
	delete(m.frameworks, fw.id)
	m.removedFrameworkIDs[fw.id] = true
	m.completedFrameworks = append(m.completedFrameworks, fw)
	if n := len(m.completedFrameworks) - m.cfg.MaxCompletedFrameworks; n > 0 {
		m.completedFrameworks = append([]*framework(nil), m.completedFrameworks[n:]...)
	}
	m.persistFramework(fw)
	m.operatorFrameworkRemoved(fw)
	m.triggerAllocation()
}

// persistFramework writes the framework's durable record; failures are logged (the in-memory
// state stays authoritative for this run). m.mu is held.
func (m *Master) persistFramework(fw *framework) {
	b, err := proto.Marshal(fw.info)
	if err != nil {
		m.log.Error("encode framework", "framework_id", fw.id, "err", err)
		return
	}
	rec := &store.Framework{
		ID:              fw.id,
		Name:            fw.info.GetName(),
		Info:            b,
		FailoverTimeout: m.failoverTimeout(fw.info).Seconds(),
		RegisteredAt:    fw.registeredTime,
	}
	if !fw.connected && !fw.unregisteredTime.IsZero() {
		t := fw.unregisteredTime
		rec.DisconnectedAt = &t
	}
	if !fw.removedTime.IsZero() {
		t := fw.removedTime
		rec.RemovedAt = &t
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.store.PutFramework(ctx, rec); err != nil {
		m.log.Error("persist framework", "framework_id", fw.id, "err", err)
	}
}

// sendToFramework queues ev on the framework's stream, if it has one. m.mu is held.
func (m *Master) sendToFramework(fw *framework, ev *schedulerpb.Event) bool {
	if fw.stream == nil {
		return false
	}
	rec, err := fw.codec.Marshal(ev)
	if err != nil {
		m.log.Error("encode scheduler event", "framework_id", fw.id, "type", ev.GetType().String(), "err", err)
		return false
	}
	return fw.stream.send(rec)
}

func toSet(ss []string) map[string]bool {
	out := make(map[string]bool, len(ss))
	for _, s := range ss {
		out[s] = true
	}
	return out
}
