package master

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"
	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/masterpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/store"
	"strata/kernel/version"
)

// maxOperatorSubscribers follows --max_operator_event_stream_subscribers: past it the oldest
// subscriber is closed.
const maxOperatorSubscribers = 1000

// operatorSubscriber is one SUBSCRIBE stream of the operator API.
type operatorSubscriber struct {
	codec codec.Codec
	since time.Time
}

// handleOperator serves POST /api/v1 on the master.
func (m *Master) handleOperator(c *gin.Context) {
	if m.redirectToLeader(c) {
		return
	}
	call := &masterpb.Call{}
	if _, ok := decodeCall(c, call, "master::Call"); !ok {
		return
	}
	cd, ok := acceptCodec(c)
	if !ok {
		textError(c, http.StatusNotAcceptable, "Expecting 'Accept' to allow application/json or application/x-protobuf")
		return
	}
	if call.Type == nil || call.GetType() == masterpb.Call_UNKNOWN {
		textError(c, http.StatusBadRequest, "Failed to validate master::Call: Expecting 'type' to be present")
		return
	}
	if call.GetType() == masterpb.Call_SUBSCRIBE {
		m.operatorSubscribe(c, cd)
		return
	}
	body, code, errMsg := m.operatorCall(call, cd)
	switch {
	case errMsg != "":
		textError(c, code, "%s", errMsg)
	case body == nil:
		c.Status(code)
	default:
		c.Data(code, cd.ContentType(), body)
	}
}

// operatorCall answers one non-streaming operator call: an encoded response, or a status with no
// body, or an error status with a message.
func (m *Master) operatorCall(call *masterpb.Call, cd codec.Codec) ([]byte, int, string) {
	var resp *masterpb.Response
	code, errMsg := http.StatusOK, ""
	switch call.GetType() {
	case masterpb.Call_GET_STATE, masterpb.Call_GET_AGENTS, masterpb.Call_GET_FRAMEWORKS, masterpb.Call_GET_EXECUTORS,
		masterpb.Call_GET_TASKS, masterpb.Call_GET_ROLES, masterpb.Call_GET_WEIGHTS:
		// These answers point into live task and framework records, which change under m.mu, so
		// they are encoded before the lock is released.
		m.mu.Lock()
		defer m.mu.Unlock()
		resp = m.stateQuery(call.GetType())
	default:
		resp, code, errMsg = m.operatorResponse(call)
	}
	if errMsg != "" || resp == nil {
		return nil, code, errMsg
	}
	b, err := cd.Marshal(resp)
	if err != nil {
		return nil, http.StatusInternalServerError, "Failed to encode response: " + err.Error()
	}
	return b, code, ""
}

// stateQuery answers the calls that read the cluster state. m.mu is held.
func (m *Master) stateQuery(t masterpb.Call_Type) *masterpb.Response {
	resp := &masterpb.Response{}
	switch t {
	case masterpb.Call_GET_STATE:
		resp.Type, resp.GetState = masterpb.Response_GET_STATE.Enum(), m.getState()
	case masterpb.Call_GET_AGENTS:
		resp.Type, resp.GetAgents = masterpb.Response_GET_AGENTS.Enum(), m.getAgents()
	case masterpb.Call_GET_FRAMEWORKS:
		resp.Type, resp.GetFrameworks = masterpb.Response_GET_FRAMEWORKS.Enum(), m.getFrameworks()
	case masterpb.Call_GET_EXECUTORS:
		resp.Type, resp.GetExecutors = masterpb.Response_GET_EXECUTORS.Enum(), m.getExecutors()
	case masterpb.Call_GET_TASKS:
		resp.Type, resp.GetTasks = masterpb.Response_GET_TASKS.Enum(), m.getTasks()
	case masterpb.Call_GET_ROLES:
		resp.Type, resp.GetRoles = masterpb.Response_GET_ROLES.Enum(), m.getRoles()
	case masterpb.Call_GET_WEIGHTS:
		resp.Type, resp.GetWeights = masterpb.Response_GET_WEIGHTS.Enum(), &masterpb.Response_GetWeights{WeightInfos: m.weightInfos()}
	}
	return resp
}

// weightInfos lists the weights that were set (UPDATE_WEIGHTS or /weights), by role; as in Mesos,
// roles on the default weight are not listed. m.mu is held.
func (m *Master) weightInfos() []*mesospb.WeightInfo {
	roles := make([]string, 0, len(m.weights))
	for r := range m.weights {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	out := make([]*mesospb.WeightInfo, 0, len(roles))
	for _, r := range roles {
		out = append(out, &mesospb.WeightInfo{Role: proto.String(r), Weight: proto.Float64(m.weights[r])})
	}
	return out
}

// operatorResponse answers the calls that do not read the cluster state: a response, or a status
// with no body, or an error status with a message.
func (m *Master) operatorResponse(call *masterpb.Call) (*masterpb.Response, int, string) {
	t := call.GetType()
	resp := &masterpb.Response{}
	switch t {
	case masterpb.Call_GET_HEALTH:
		resp.Type = masterpb.Response_GET_HEALTH.Enum()
		resp.GetHealth = &masterpb.Response_GetHealth{Healthy: proto.Bool(true)}
	case masterpb.Call_GET_VERSION:
		v := version.Get()
		resp.Type = masterpb.Response_GET_VERSION.Enum()
		resp.GetVersion = &masterpb.Response_GetVersion{VersionInfo: &mesospb.VersionInfo{
			Version:   proto.String(v.Version),
			BuildDate: proto.String(v.BuildDate),
			BuildUser: proto.String(v.BuildUser),
			GitSha:    proto.String(v.GitSHA),
			GitBranch: proto.String(v.GitBranch),
		}}
	case masterpb.Call_GET_FLAGS:
		resp.Type = masterpb.Response_GET_FLAGS.Enum()
		resp.GetFlags = &masterpb.Response_GetFlags{Flags: m.flagList()}
	case masterpb.Call_GET_METRICS:
		resp.Type = masterpb.Response_GET_METRICS.Enum()
		snap := m.metricsSnapshot()
		keys := make([]string, 0, len(snap))
		for k := range snap {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		gm := &masterpb.Response_GetMetrics{}
		for _, k := range keys {
			gm.Metrics = append(gm.Metrics, &mesospb.Metric{Name: proto.String(k), Value: proto.Float64(snap[k])})
		}
		resp.GetMetrics = gm
	case masterpb.Call_GET_MASTER:
		m.mu.Lock()
		resp.Type = masterpb.Response_GET_MASTER.Enum()
		resp.GetMaster = &masterpb.Response_GetMaster{
			MasterInfo:  m.info,
			StartTime:   proto.Float64(float64(m.startTime.UnixNano()) / 1e9),
			ElectedTime: proto.Float64(float64(m.electedTime.UnixNano()) / 1e9),
		}
		m.mu.Unlock()
	case masterpb.Call_UPDATE_WEIGHTS:
		return m.updateWeights(call.GetUpdateWeights())
	case masterpb.Call_TEARDOWN:
		if call.Teardown == nil {
			return nil, http.StatusBadRequest, "Failed to validate master::Call: Expecting 'teardown' to be present"
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		fw := m.frameworks[call.GetTeardown().GetFrameworkId().GetValue()]
		if fw == nil {
			return nil, http.StatusBadRequest, "No framework found with specified ID"
		}
		m.removeFramework(fw, "operator teardown")
		return nil, http.StatusOK, ""
	case masterpb.Call_MARK_AGENT_GONE:
		if call.MarkAgentGone == nil {
			return nil, http.StatusBadRequest, "Failed to validate master::Call: Expecting 'mark_agent_gone' to be present"
		}
		return m.markAgentGone(call.GetMarkAgentGone().GetAgentId().GetValue())
	default:
		return nil, http.StatusNotImplemented, fmt.Sprintf("Call type %s is not supported by Strata yet", t)
	}
	return resp, http.StatusOK, ""
}

func (m *Master) flagList() []*mesospb.Flag {
	keys := make([]string, 0, len(m.cfg.Flags))
	for k := range m.cfg.Flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]*mesospb.Flag, 0, len(keys))
	for _, k := range keys {
		out = append(out, &mesospb.Flag{Name: proto.String(k), Value: proto.String(m.cfg.Flags[k])})
	}
	return out
}

func (m *Master) updateWeights(u *masterpb.Call_UpdateWeights) (*masterpb.Response, int, string) {
	if u == nil {
		return nil, http.StatusBadRequest, "Failed to validate master::Call: Expecting 'update_weights' to be present"
	}
	weights := map[string]float64{}
	for _, wi := range u.GetWeightInfos() {
		if err := validateRole(wi.GetRole()); err != nil || wi.GetRole() == "*" {
			return nil, http.StatusBadRequest, fmt.Sprintf("Invalid role %q", wi.GetRole())
		}
		if wi.GetWeight() <= 0 {
			return nil, http.StatusBadRequest, fmt.Sprintf("Invalid weight %v for role %q: must be positive", wi.GetWeight(), wi.GetRole())
		}
		weights[wi.GetRole()] = wi.GetWeight()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.store.SetWeights(ctx, weights); err != nil {
		return nil, http.StatusServiceUnavailable, "Failed to store weights: " + err.Error()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for r, w := range weights {
		if w == 1 {
			delete(m.weights, r)
		} else {
			m.weights[r] = w
		}
	}
	if err := m.alloc.UpdateWeights(weights); err != nil {
		return nil, http.StatusBadRequest, err.Error()
	}
	m.triggerAllocation()
	return nil, http.StatusOK, ""
}

// markAgentGone handles MARK_AGENT_GONE: the agent may never come back; its tasks become
// GONE_BY_OPERATOR.
func (m *Master) markAgentGone(id string) (*masterpb.Response, int, string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.goneAgents[id].IsZero() {
		return nil, http.StatusOK, ""
	}
	now := time.Now()
	a := m.agents[id]
	_, unreachable := m.unreachableAgents[id]
	if a == nil && !unreachable && m.recoveredAgents[id] == nil {
		return nil, http.StatusNotFound, "Agent " + id + " is not known"
	}
	rec := &store.Agent{ID: id, State: store.AgentGone, GoneAt: &now, RegisteredAt: now}
	if a != nil {
		b, _ := proto.Marshal(a.info)
		rec.Info, rec.Hostname, rec.RegisteredAt = b, a.info.GetHostname(), a.registeredTime
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.store.PutAgent(ctx, rec); err != nil {
		return nil, http.StatusServiceUnavailable, "Failed to store agent state: " + err.Error()
	}
	if a != nil {
		for fwid, byTask := range a.tasks {
			for _, t := range byTask {
				if m.frameworks[fwid] != nil {
					m.transitionTask(t, mesospb.TaskState_TASK_GONE_BY_OPERATOR, mesospb.TaskStatus_REASON_AGENT_REMOVED_BY_OPERATOR, "Agent "+id+" marked gone by an operator", now)
					m.completeTask(t)
				}
			}
		}
		for _, o := range a.offers {
			m.removeOffer(o, true)
		}
		if a.stream != nil {
			rec, _ := proto.Marshal(agentEventError("Agent has been marked gone by an operator"))
			a.stream.send(rec)
			a.stream.close("agent marked gone")
		}
		for fwid := range a.executors {
			m.removeExecutorsOf(a, fwid)
		}
		_ = m.alloc.RemoveAgent(id)
		delete(m.agents, id)
		m.operatorAgentRemoved(id)
	}
	for _, fw := range m.frameworks {
		for i := 0; i < len(fw.unreachableTasks); i++ {
			if t := fw.unreachableTasks[i]; t.t.GetAgentId().GetValue() == id {
				m.transitionTask(t, mesospb.TaskState_TASK_GONE_BY_OPERATOR, mesospb.TaskStatus_REASON_AGENT_REMOVED_BY_OPERATOR, "Agent "+id+" marked gone by an operator", now)
				fw.unreachableTasks = append(fw.unreachableTasks[:i], fw.unreachableTasks[i+1:]...)
				fw.completedTasks = append(fw.completedTasks, t)
				i--
			}
		}
	}
	delete(m.unreachableAgents, id)
	delete(m.recoveredAgents, id)
	m.goneAgents[id] = now
	return nil, http.StatusOK, ""
}

// operatorSubscribe serves the operator event stream.
func (m *Master) operatorSubscribe(c *gin.Context, cd codec.Codec) {
	stream := newEventStream("")
	sub := &operatorSubscriber{codec: cd, since: time.Now()}
	m.mu.Lock()
	if len(m.operatorStreams) >= maxOperatorSubscribers {
		var oldest *eventStream
		var oldestSince time.Time
		for s, os := range m.operatorStreams {
			if oldest == nil || os.since.Before(oldestSince) {
				oldest, oldestSince = s, os.since
			}
		}
		oldest.close("too many operator subscribers")
		delete(m.operatorStreams, oldest)
	}
	m.operatorStreams[stream] = sub
	rec, err := cd.Marshal(&masterpb.Event{
		Type: masterpb.Event_SUBSCRIBED.Enum(),
		Subscribed: &masterpb.Event_Subscribed{
			GetState:                 m.getState(),
			HeartbeatIntervalSeconds: proto.Float64(m.cfg.HeartbeatInterval.Seconds()),
		},
	})
	if err == nil {
		stream.send(rec)
	}
	m.mu.Unlock()
	startStream(c, cd, nil)
	_ = stream.serve(c.Request.Context(), c.Writer)
	m.mu.Lock()
	delete(m.operatorStreams, stream)
	m.mu.Unlock()
}

// broadcastOperator sends an event to every operator subscriber. m.mu is held.
func (m *Master) broadcastOperator(ev *masterpb.Event) {
	if len(m.operatorStreams) == 0 {
		return
	}
	encoded := map[string][]byte{}
	for s, sub := range m.operatorStreams {
		rec, ok := encoded[sub.codec.ContentType()]
		if !ok {
			var err error
			if rec, err = sub.codec.Marshal(ev); err != nil {
				m.log.Error("encode operator event", "type", ev.GetType().String(), "err", err)
				return
			}
			encoded[sub.codec.ContentType()] = rec
		}
		if !s.send(rec) {
			delete(m.operatorStreams, s)
		}
	}
}

func (m *Master) operatorTaskAdded(t *task) {
	m.broadcastOperator(&masterpb.Event{
		Type:      masterpb.Event_TASK_ADDED.Enum(),
		TaskAdded: &masterpb.Event_TaskAdded{Task: t.t},
	})
}

func (m *Master) operatorTaskUpdated(fwID string, st *mesospb.TaskStatus, state mesospb.TaskState) {
	m.broadcastOperator(&masterpb.Event{
		Type: masterpb.Event_TASK_UPDATED.Enum(),
		TaskUpdated: &masterpb.Event_TaskUpdated{
			FrameworkId: &mesospb.FrameworkID{Value: proto.String(fwID)},
			Status:      st,
			State:       state.Enum(),
		},
	})
}

func (m *Master) operatorFrameworkEvent(fw *framework, added bool) {
	if len(m.operatorStreams) == 0 {
		return
	}
	if added {
		m.broadcastOperator(&masterpb.Event{
			Type:           masterpb.Event_FRAMEWORK_ADDED.Enum(),
			FrameworkAdded: &masterpb.Event_FrameworkAdded{Framework: m.frameworkProto(fw)},
		})
		return
	}
	m.broadcastOperator(&masterpb.Event{
		Type:             masterpb.Event_FRAMEWORK_UPDATED.Enum(),
		FrameworkUpdated: &masterpb.Event_FrameworkUpdated{Framework: m.frameworkProto(fw)},
	})
}

func (m *Master) operatorFrameworkRemoved(fw *framework) {
	m.broadcastOperator(&masterpb.Event{
		Type:             masterpb.Event_FRAMEWORK_REMOVED.Enum(),
		FrameworkRemoved: &masterpb.Event_FrameworkRemoved{FrameworkInfo: fw.info},
	})
}

func (m *Master) operatorAgentAdded(a *agent) {
	if len(m.operatorStreams) == 0 {
		return
	}
	m.broadcastOperator(&masterpb.Event{
		Type:       masterpb.Event_AGENT_ADDED.Enum(),
		AgentAdded: &masterpb.Event_AgentAdded{Agent: m.agentProto(a)},
	})
}

// operatorAgentUpdated reports a change of an agent's connection; the v1 operator API has no event
// for it, so it is a no-op kept as the one place to add one.
func (m *Master) operatorAgentUpdated(*agent) {}

func (m *Master) operatorAgentRemoved(id string) {
	m.broadcastOperator(&masterpb.Event{
		Type:         masterpb.Event_AGENT_REMOVED.Enum(),
		AgentRemoved: &masterpb.Event_AgentRemoved{AgentId: &mesospb.AgentID{Value: proto.String(id)}},
	})
}

func (m *Master) operatorHeartbeat() {
	m.broadcastOperator(&masterpb.Event{Type: masterpb.Event_HEARTBEAT.Enum()})
}
