package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/statusupdate"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
)

// maxCallBody bounds a call body (an UPDATE may carry data).
const maxCallBody = 16 << 20

func textError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// decodeCall applies the Mesos codec rules to a POSTed call: 405, 400 for a
// missing Content-Type or a bad body, 415 for another type.
func decodeCall(w http.ResponseWriter, r *http.Request, m proto.Message) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		textError(w, http.StatusMethodNotAllowed, "Expecting 'POST', received '"+r.Method+"'")
		return false
	}
	c, err := codec.ForContentType(r.Header.Get("Content-Type"))
	if errors.Is(err, codec.ErrMissingContentType) {
		textError(w, http.StatusBadRequest, "Expecting 'Content-Type' to be present")
		return false
	}
	if err != nil {
		textError(w, http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of application/json or application/x-protobuf")
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCallBody+1))
	if err != nil {
		textError(w, http.StatusBadRequest, "Failed to read body: "+err.Error())
		return false
	}
	if len(body) > maxCallBody {
		textError(w, http.StatusRequestEntityTooLarge, "Request body too large")
		return false
	}
	if err := c.Unmarshal(body, m); err != nil {
		textError(w, http.StatusBadRequest, "Failed to parse body into Call: "+err.Error())
		return false
	}
	return true
}

// executorAPI serves POST /api/v1/executor.
func (a *Agent) executorAPI(w http.ResponseWriter, r *http.Request) {
	call := &executorpb.Call{}
	if !decodeCall(w, r, call) {
		return
	}
	switch call.GetType() {
	case executorpb.Call_SUBSCRIBE:
		c, ok := codec.Negotiate(r.Header.Values("Accept"))
		if !ok {
			textError(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow application/json or application/x-protobuf")
			return
		}
		a.executorSubscribe(w, r, call, c)
	case executorpb.Call_UPDATE:
		a.executorUpdate(w, call)
	case executorpb.Call_MESSAGE:
		a.executorMessage(w, call)
	case executorpb.Call_HEARTBEAT:
		w.WriteHeader(http.StatusAccepted)
	default:
		textError(w, http.StatusBadRequest, fmt.Sprintf("Failed to validate executor::Call: unsupported call type %v", call.GetType()))
	}
}

// lookupExecutorLocked finds the caller's executor or explains why not.
func (a *Agent) lookupExecutorLocked(call *executorpb.Call) (*executor, string) {
	f := a.frameworks[call.GetFrameworkId().GetValue()]
	if f == nil {
		return nil, "Framework cannot be found"
	}
	e := f.executors[call.GetExecutorId().GetValue()]
	if e == nil {
		return nil, "Executor cannot be found"
	}
	return e, ""
}

// executorSubscribe handles SUBSCRIBE: it answers with the event stream.
func (a *Agent) executorSubscribe(w http.ResponseWriter, r *http.Request, call *executorpb.Call, c codec.Codec) {
	a.mu.Lock()
	e, why := a.lookupExecutorLocked(call)
	if e == nil {
		a.mu.Unlock()
		textError(w, http.StatusBadRequest, why)
		return
	}
	if e.state == execTerminated {
		a.mu.Unlock()
		textError(w, http.StatusBadRequest, "Executor has terminated")
		return
	}
	conn := newExecConn()
	resubscribe := e.conn != nil || e.recovered || e.state == execRunning
	if e.conn != nil {
		e.conn.close()
	}
	e.conn = conn
	e.recovered = false
	if e.regTimer != nil {
		e.regTimer.Stop()
	}
	if e.state == execRegistering {
		e.state = execRunning
	}
	e.releaseStartSlotLocked()
	a.log.Info("executor subscribed", "framework", e.fw.id, "executor", e.id, "resubscribe", resubscribe, "codec", c.Name())
	a.checkpointHTTPMarkerLocked(e)

	conn.send(&executorpb.Event{
		Type: executorpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &executorpb.Event_Subscribed{
			ExecutorInfo:  e.info,
			FrameworkInfo: e.fw.info,
			AgentInfo:     proto.Clone(a.info).(*mesospb.AgentInfo),
			ContainerId:   &mesospb.ContainerID{Value: proto.String(e.containerID)},
		},
	})
	sub := call.GetSubscribe()
	known := make(map[string]bool)
	for _, t := range sub.GetUnacknowledgedTasks() {
		known[t.GetTaskId().GetValue()] = true
	}
	for _, u := range sub.GetUnacknowledgedUpdates() {
		st := u.GetStatus()
		if st == nil || len(st.GetUuid()) == 0 {
			continue
		}
		known[st.GetTaskId().GetValue()] = true
		st = a.prepareExecutorStatus(e, st)
		if err := a.applyStatusLocked(e, st); err != nil && !isDuplicate(err) {
			a.log.Error("replayed status update", "task", st.GetTaskId().GetValue(), "error", err)
			continue
		}
		conn.send(ackEvent(st))
	}
	dropped := false
	if resubscribe {
		// Tasks the agent handed over that the executor does not know (the
		// LAUNCH was lost with the connection or the agent restart).
		for _, t := range e.launchedTasks() {
			if !t.terminal() && !known[t.id()] && len(t.t.GetStatuses()) == 0 {
				a.agentStatusLocked(e, t, e.fw.droppedState(), mesospb.TaskStatus_REASON_AGENT_RESTARTED,
					"Task was not known to the re-subscribing executor")
				dropped = true
			}
		}
	}
	if e.state == execRunning {
		for len(e.queued) > 0 {
			item := e.queued[0]
			e.queued = e.queued[1:]
			a.deliverLocked(e, item)
		}
		for _, t := range e.launchedTasks() {
			if t.killed && !t.terminal() {
				conn.send(&executorpb.Event{
					Type: executorpb.Event_KILL.Enum(),
					Kill: &executorpb.Event_Kill{TaskId: t.t.GetTaskId(), KillPolicy: t.killPolicy},
				})
			}
		}
	} else if e.state == execTerminating {
		conn.send(&executorpb.Event{Type: executorpb.Event_SHUTDOWN.Enum()})
	}
	if dropped && e.kind.builtin() && !e.hasLiveTasks() && len(e.queued) == 0 {
		// A built-in executor runs the tasks the agent gives it and nothing
		// else: one left without any by the drop above (its LAUNCH was lost
		// with the agent restart) would wait for one forever, and the
		// master, which saw its tasks end, would never shut it down.
		a.shutdownExecutorLocked(e, "its tasks were dropped when it re-subscribed")
	}
	a.mu.Unlock()

	defer func() {
		a.mu.Lock()
		if e.conn == conn {
			e.conn = nil
			a.log.Info("executor disconnected", "framework", e.fw.id, "executor", e.id)
		}
		a.mu.Unlock()
	}()
	w.Header().Set("Content-Type", c.ContentType())
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	a.streamEvents(w, r, conn, c)
}

// streamEvents writes the connection's events until it closes, the client
// goes away or the agent stops.
func (a *Agent) streamEvents(w http.ResponseWriter, r *http.Request, conn *execConn, c codec.Codec) {
	rw := recordio.NewWriter(w)
	hb := time.NewTicker(a.cfg.ExecutorHeartbeatInterval)
	defer hb.Stop()
	write := func() bool {
		for _, ev := range conn.drain() {
			b, err := c.Marshal(ev)
			if err != nil {
				a.log.Error("encode executor event", "type", ev.GetType().String(), "error", err)
				continue
			}
			if err := rw.WriteRecord(b); err != nil {
				return false
			}
		}
		return true
	}
	for {
		if !write() {
			return
		}
		select {
		case <-conn.notify:
		case <-conn.closed:
			write()
			return
		case <-r.Context().Done():
			return
		case <-a.stopping:
			return
		case <-hb.C:
			conn.send(&executorpb.Event{Type: executorpb.Event_HEARTBEAT.Enum()})
		}
	}
}

func ackEvent(st *mesospb.TaskStatus) *executorpb.Event {
	return &executorpb.Event{
		Type:         executorpb.Event_ACKNOWLEDGED.Enum(),
		Acknowledged: &executorpb.Event_Acknowledged{TaskId: st.GetTaskId(), Uuid: st.GetUuid()},
	}
}

// prepareExecutorStatus stamps an executor's status with the agent's view:
// ids, source, timestamp and, for TASK_RUNNING, the container status.
func (a *Agent) prepareExecutorStatus(e *executor, in *mesospb.TaskStatus) *mesospb.TaskStatus {
	st := proto.Clone(in).(*mesospb.TaskStatus)
	st.ExecutorId = &mesospb.ExecutorID{Value: proto.String(e.id)}
	if a.agentID != "" {
		st.AgentId = &mesospb.AgentID{Value: proto.String(a.agentID)}
	}
	if st.Source == nil {
		st.Source = mesospb.TaskStatus_SOURCE_EXECUTOR.Enum()
	}
	if st.Timestamp == nil {
		st.Timestamp = proto.Float64(float64(time.Now().UnixNano()) / 1e9)
	}
	if st.GetState() == mesospb.TaskState_TASK_RUNNING {
		cs := st.ContainerStatus
		if cs == nil {
			cs = &mesospb.ContainerStatus{}
			st.ContainerStatus = cs
		}
		if cs.ContainerId == nil {
			cs.ContainerId = &mesospb.ContainerID{Value: proto.String(e.containerID)}
		}
		if cs.ExecutorPid == nil {
			pid := e.pid
			if pid == 0 && !e.inImage() {
				// The executor can report before the launch goroutine has
				// recorded its pid.
				if s, err := a.cz.Status(context.Background(), e.containerID); err == nil {
					pid = int(s.GetExecutorPid())
				}
			}
			if pid > 0 {
				p := uint32(pid)
				cs.ExecutorPid = &p
			}
		}
		if len(cs.NetworkInfos) == 0 {
			cs.NetworkInfos = []*mesospb.NetworkInfo{{
				IpAddresses: []*mesospb.NetworkInfo_IPAddress{{
					Protocol:  mesospb.NetworkInfo_IPv4.Enum(),
					IpAddress: proto.String(a.advertisedIP),
				}},
			}}
		}
	}
	return st
}

// executorUpdate handles UPDATE.
func (a *Agent) executorUpdate(w http.ResponseWriter, call *executorpb.Call) {
	st := call.GetUpdate().GetStatus()
	switch {
	case st == nil:
		textError(w, http.StatusBadRequest, "Failed to validate executor::Call: Expecting 'update' to be present")
		return
	case len(st.GetUuid()) == 0:
		textError(w, http.StatusBadRequest, "Failed to validate executor::Call: Expecting 'uuid' to be present")
		return
	case len(st.GetUuid()) != 16:
		textError(w, http.StatusBadRequest, "Failed to validate executor::Call: Invalid UUID")
		return
	case st.GetState() == mesospb.TaskState_TASK_STAGING:
		textError(w, http.StatusBadRequest, "Failed to validate executor::Call: Received TASK_STAGING from executor")
		return
	case st.ExecutorId != nil && st.GetExecutorId().GetValue() != call.GetExecutorId().GetValue():
		textError(w, http.StatusBadRequest, "Failed to validate executor::Call: ExecutorID in Call and TaskStatus differ")
		return
	}
	a.mu.Lock()
	e, why := a.lookupExecutorLocked(call)
	if e == nil {
		a.mu.Unlock()
		a.metrics.statusUpdates.WithLabelValues("invalid").Inc()
		textError(w, http.StatusBadRequest, why)
		return
	}
	if e.state == execRegistering {
		a.mu.Unlock()
		textError(w, http.StatusForbidden, "Executor is not subscribed")
		return
	}
	st = a.prepareExecutorStatus(e, st)
	a.addLimitationLocked(e, st)
	a.reapTasksLocked(e, st)
	err := a.applyStatusLocked(e, st)
	if errors.Is(err, statusupdate.ErrCheckpoint) {
		e.checkpointErr = err.Error()
	}
	conn := e.conn
	a.mu.Unlock()
	if err != nil && !isDuplicate(err) {
		a.metrics.statusUpdates.WithLabelValues("invalid").Inc()
		textError(w, http.StatusInternalServerError, "Failed to handle status update: "+err.Error())
		return
	}
	a.metrics.statusUpdates.WithLabelValues("valid").Inc()
	if conn != nil {
		conn.send(ackEvent(st))
	}
	w.WriteHeader(http.StatusAccepted)
}

// executorMessage handles MESSAGE: best-effort delivery to the scheduler.
func (a *Agent) executorMessage(w http.ResponseWriter, call *executorpb.Call) {
	a.mu.Lock()
	e, why := a.lookupExecutorLocked(call)
	if e == nil {
		a.mu.Unlock()
		textError(w, http.StatusBadRequest, why)
		return
	}
	if e.state == execRegistering {
		a.mu.Unlock()
		textError(w, http.StatusForbidden, "Executor is not subscribed")
		return
	}
	a.mu.Unlock()
	a.calls.push(&internalpb.AgentCall{
		Type: internalpb.AgentCall_EXECUTOR_MESSAGE.Enum(),
		ExecutorMessage: &internalpb.AgentCall_ExecutorMessage{
			FrameworkId: call.GetFrameworkId(),
			ExecutorId:  call.GetExecutorId(),
			Data:        call.GetMessage().GetData(),
		},
	})
	w.WriteHeader(http.StatusAccepted)
}
