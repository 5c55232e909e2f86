package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/checkpoint"
	"strata/kernel/agent/sandbox"
	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/recordio"
	"strata/kernel/version"
)

// Protocol constants of the internal master <-> agent API.
const (
	agentAPIPath     = "/internal/v1/agent"
	streamIDHeader   = "Strata-Agent-Stream-Id"
	maxRedirects     = 5
	callTimeout      = 15 * time.Second
	maxErrorBodySize = 4 << 10
)

// session is a live registration: the stream to one master.
type session struct {
	addr     string // master host:port
	streamID string
	cancel   context.CancelFunc
}

// masterLoop registers with the master and keeps the registration alive
// until ctx is done, re-registering with backoff whenever the stream breaks.
func (a *Agent) masterLoop(ctx context.Context) {
	failures := 0
	next := 0
	hint := ""
	for ctx.Err() == nil {
		addr := hint
		if a.detector != nil {
			l, err := a.detector.WaitLeader(ctx)
			if err != nil {
				return
			}
			addr = l
		} else if addr == "" {
			addr = a.masters[next%len(a.masters)]
		}
		registered, leader, err := a.connectFollowing(ctx, addr)
		if ctx.Err() != nil {
			return
		}
		hint = leader
		if err != nil {
			a.log.Warn("master connection failed", "master", addr, "error", err)
			if leader == "" {
				next++
			}
		}
		if registered {
			failures = 0
		}
		failures++
		d := a.backoff(failures)
		a.log.Info("re-registering after backoff", "backoff", d.Round(time.Millisecond))
		if !a.sleepUnlessLeaderChanges(ctx, d, addr) {
			return
		}
	}
}

// sleepUnlessLeaderChanges waits d, or with a ZooKeeper detector until it names a leader other
// than tried: a new leader wants the agent now, not after a backoff earned with the old one. It
// returns false when ctx ended.
func (a *Agent) sleepUnlessLeaderChanges(ctx context.Context, d time.Duration, tried string) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	var changed chan struct{}
	if a.detector != nil {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		changed = make(chan struct{})
		go func() {
			if l, err := a.detector.WaitOther(wctx, tried); err == nil {
				a.log.Info("leading master changed: re-registering now", "to", l)
				close(changed)
			}
		}()
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	case <-changed:
	}
	return true
}

// connectFollowing is connect, ended early when the ZooKeeper detector (if any) sees another
// leader: a deposed master may still answer, but the agent belongs with the new one.
func (a *Agent) connectFollowing(ctx context.Context, addr string) (bool, string, error) {
	if a.detector == nil {
		return a.connect(ctx, addr)
	}
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		if l, err := a.detector.WaitOther(connCtx, addr); err == nil {
			a.log.Info("leading master changed", "from", addr, "to", l)
			cancel()
		}
	}()
	return a.connect(connCtx, addr)
}

// backoff returns a random delay in [0, b·2^(n-1)], capped.
func (a *Agent) backoff(n int) time.Duration {
	limit := a.cfg.RegistrationBackoffFactor
	for i := 1; i < n && limit < a.cfg.MaxRegistrationBackoff; i++ {
		limit *= 2
	}
	limit = min(limit, a.cfg.MaxRegistrationBackoff)
	return time.Duration(rand.Int64N(int64(limit) + 1))
}

// leaderFromLocation extracts host:port from a redirect Location such as
// "//host:port/internal/v1/agent" or "http://host:port/...".
func leaderFromLocation(loc string) (string, error) {
	if strings.HasPrefix(loc, "//") {
		loc = "http:" + loc
	}
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("agent: bad redirect location %q", loc)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return net.JoinHostPort(u.Host, "5050"), nil
	}
	return u.Host, nil
}

// connect runs one registration attempt and, when it succeeds, the whole
// life of the stream. It reports whether the agent got registered, and the
// leader to try next (learnt from a redirect) if any.
func (a *Agent) connect(ctx context.Context, addr string) (registered bool, leader string, err error) {
	call, reregister, err := a.registrationCall()
	if err != nil {
		return false, "", err
	}
	body, err := codec.MarshalProtobuf(call)
	if err != nil {
		return false, "", fmt.Errorf("agent: encode registration: %w", err)
	}
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var resp *http.Response
	for redirects := 0; ; redirects++ {
		req, err := http.NewRequestWithContext(streamCtx, http.MethodPost, "http://"+addr+agentAPIPath, bytes.NewReader(body))
		if err != nil {
			return false, "", fmt.Errorf("agent: registration request: %w", err)
		}
		req.Header.Set("Content-Type", codec.ContentTypeProtobuf)
		req.Header.Set("Accept", codec.ContentTypeProtobuf)
		resp, err = streamClient.Do(req)
		if err != nil {
			return false, "", fmt.Errorf("agent: register with %s: %w", addr, err)
		}
		if resp.StatusCode != http.StatusTemporaryRedirect {
			break
		}
		loc := resp.Header.Get("Location")
		resp.Body.Close()
		if redirects >= maxRedirects {
			return false, "", fmt.Errorf("agent: register: too many redirects (last to %q)", loc)
		}
		next, err := leaderFromLocation(loc)
		if err != nil {
			return false, "", err
		}
		a.log.Info("redirected to the leading master", "from", addr, "to", next)
		addr, leader = next, next
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodySize))
		return false, "", fmt.Errorf("agent: register with %s: %s: %s", addr, resp.Status, strings.TrimSpace(string(msg)))
	}
	c, err := codec.ForContentType(resp.Header.Get("Content-Type"))
	if err != nil {
		c = codec.Protobuf
	}
	sess := &session{addr: addr, streamID: resp.Header.Get(streamIDHeader), cancel: cancel}
	rd := recordio.NewReader(resp.Body)

	readEvent := func() (*internalpb.AgentEvent, error) {
		rec, err := rd.ReadRecord()
		if err != nil {
			return nil, err
		}
		ev := &internalpb.AgentEvent{}
		if err := c.Unmarshal(rec, ev); err != nil {
			return nil, fmt.Errorf("agent: decode event: %w", err)
		}
		return ev, nil
	}

	// The watchdog closes the stream when no PING arrives in time.
	pings := make(chan time.Duration, 1)
	var wdWG sync.WaitGroup
	wdWG.Add(1)
	go func() {
		defer wdWG.Done()
		timeout := a.pingTimeout(nil)
		t := time.NewTimer(timeout)
		defer t.Stop()
		for {
			select {
			case <-streamCtx.Done():
				return
			case d := <-pings:
				if d > 0 {
					timeout = d
				}
				if !t.Stop() {
					select {
					case <-t.C:
					default:
					}
				}
				t.Reset(timeout)
			case <-t.C:
				a.log.Warn("no ping from the master; re-registering", "master", addr, "timeout", timeout)
				cancel()
				return
			}
		}
	}()
	defer wdWG.Wait()
	defer cancel()
	resetWatchdog := func(d time.Duration) {
		select {
		case pings <- d:
		default:
		}
	}

	first, err := readEvent()
	if err != nil {
		return false, leader, fmt.Errorf("agent: read registration answer: %w", err)
	}
	switch first.GetType() {
	case internalpb.AgentEvent_REGISTERED:
		r := first.GetRegistered()
		if err := a.registeredWith(sess, r.GetAgentId().GetValue(), r.GetMasterInfo(), false, nil); err != nil {
			return false, leader, err
		}
		resetWatchdog(a.pingTimeout(r))
	case internalpb.AgentEvent_REREGISTERED:
		r := first.GetReregistered()
		rr := &internalpb.AgentEvent_Registered{PingIntervalSeconds: r.PingIntervalSeconds, MaxPingTimeouts: r.MaxPingTimeouts}
		if err := a.registeredWith(sess, r.GetAgentId().GetValue(), r.GetMasterInfo(), true, r.GetKillTasks()); err != nil {
			return false, leader, err
		}
		resetWatchdog(a.pingTimeout(rr))
	case internalpb.AgentEvent_ERROR:
		msg := first.GetError().GetMessage()
		if reregister {
			a.log.Error("master refused re-registration; starting over as a new agent", "message", msg)
			a.forgetAgent()
		}
		return false, leader, fmt.Errorf("agent: master refused registration: %s", msg)
	default:
		return false, leader, fmt.Errorf("agent: unexpected first event %v", first.GetType())
	}
	defer a.disconnected(sess)

	for {
		ev, err := readEvent()
		if err != nil {
			if streamCtx.Err() == nil && !errors.Is(err, io.EOF) {
				a.log.Warn("master stream broke", "master", addr, "error", err)
			} else {
				a.log.Info("master stream closed", "master", addr)
			}
			return true, "", nil
		}
		if ev.GetType() == internalpb.AgentEvent_PING {
			resetWatchdog(0)
		}
		a.handleEvent(ev)
	}
}

// pingTimeout is interval × max, from the master's values when given.
func (a *Agent) pingTimeout(r *internalpb.AgentEvent_Registered) time.Duration {
	interval := a.cfg.PingInterval
	maxMiss := a.cfg.MaxPingTimeouts
	if s := r.GetPingIntervalSeconds(); s > 0 {
		interval = time.Duration(s * float64(time.Second))
	}
	if m := r.GetMaxPingTimeouts(); m > 0 {
		maxMiss = int(m)
	}
	return interval * time.Duration(maxMiss)
}

// agentCapabilities are the capabilities the agent announces.
func agentCapabilities() []*mesospb.AgentInfo_Capability {
	var out []*mesospb.AgentInfo_Capability
	for _, t := range []mesospb.AgentInfo_Capability_Type{
		mesospb.AgentInfo_Capability_MULTI_ROLE,
		mesospb.AgentInfo_Capability_HIERARCHICAL_ROLE,
		mesospb.AgentInfo_Capability_RESERVATION_REFINEMENT,
		mesospb.AgentInfo_Capability_TASK_RESOURCE_LIMITS,
	} {
		out = append(out, &mesospb.AgentInfo_Capability{Type: t.Enum()})
	}
	return out
}

// registrationCall builds REGISTER (no agent id yet) or REREGISTER.
func (a *Agent) registrationCall() (*internalpb.AgentCall, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	info := proto.Clone(a.info).(*mesospb.AgentInfo)
	ver := version.MesosVersion
	if a.agentID == "" {
		info.Id = nil
		reg := &internalpb.AgentCall_Register{
			AgentInfo:    info,
			Version:      &ver,
			Capabilities: agentCapabilities(),
			BootId:       proto.String(a.bootID),
			Address:      proto.String(a.addr),
		}
		return &internalpb.AgentCall{Type: internalpb.AgentCall_REGISTER.Enum(), Register: reg}, false, nil
	}
	info.Id = &mesospb.AgentID{Value: &a.agentID}
	rereg := &internalpb.AgentCall_Reregister{
		AgentInfo:    info,
		Version:      &ver,
		Capabilities: agentCapabilities(),
		Address:      proto.String(a.addr),
		BootId:       proto.String(a.bootID),
	}
	for _, f := range a.sortedFrameworks() {
		rereg.Frameworks = append(rereg.Frameworks, f.info)
		for _, e := range f.sortedExecutors() {
			if e.state == execTerminated {
				for _, t := range e.launchedTasks() {
					rereg.Tasks = append(rereg.Tasks, a.taskForMaster(t))
				}
				continue
			}
			if e.kind != commandExecutor {
				rereg.Executors = append(rereg.Executors, e.info)
			}
			for _, t := range e.allTasks() {
				rereg.Tasks = append(rereg.Tasks, a.taskForMaster(t))
			}
		}
	}
	rereg.PendingUpdates = a.sum.Pending()
	return &internalpb.AgentCall{
		Type:       internalpb.AgentCall_REREGISTER.Enum(),
		AgentId:    &mesospb.AgentID{Value: &a.agentID},
		Reregister: rereg,
	}, true, nil
}

// taskForMaster is the Task record sent in REREGISTER, with the status
// update being delivered.
func (a *Agent) taskForMaster(t *task) *mesospb.Task {
	out := proto.Clone(t.t).(*mesospb.Task)
	for i, s := range out.Statuses {
		if len(s.Data) > 0 {
			c := proto.Clone(s).(*mesospb.TaskStatus)
			c.Data = nil
			out.Statuses[i] = c
		}
	}
	return out
}

// registeredWith records a successful (re-)registration.
func (a *Agent) registeredWith(sess *session, id string, mi *mesospb.MasterInfo, re bool, kill []*mesospb.TaskID) error {
	if err := sandbox.ValidateID(id); err != nil {
		return fmt.Errorf("agent: master assigned %w", err)
	}
	a.mu.Lock()
	if a.agentID != "" && a.agentID != id {
		a.log.Warn("master assigned a different agent id", "had", a.agentID, "got", id)
	}
	a.agentID = id
	a.info.Id = &mesospb.AgentID{Value: &id}
	a.session = sess
	a.registered = true
	a.masterInfo = mi
	info := proto.Clone(a.info).(*mesospb.AgentInfo)
	a.mu.Unlock()

	if err := checkpoint.WriteProto(a.layout.AgentInfoPath(id), info); err != nil {
		a.log.Error("checkpoint agent info", "error", err)
	}
	if err := sandbox.Symlink(id, a.layout.MetaLatestLink()); err != nil {
		a.log.Error("checkpoint agent id", "error", err)
	}
	if err := checkpoint.WriteFile(a.layout.BootIDPath(), []byte(a.bootID+"\n")); err != nil {
		a.log.Error("checkpoint boot id", "error", err)
	}
	if re {
		a.log.Info("re-registered with master", "agent_id", id, "master", sess.addr)
	} else {
		a.log.Info("registered with master", "agent_id", id, "master", sess.addr)
	}
	a.metrics.registrations.Inc()
	a.sum.Resume()
	for _, tid := range kill {
		a.killTaskAnywhere(tid.GetValue())
	}
	return nil
}

// disconnected records the end of a session.
func (a *Agent) disconnected(sess *session) {
	a.mu.Lock()
	if a.session == sess {
		a.session = nil
		a.registered = false
	}
	a.mu.Unlock()
	a.sum.Pause()
}

// forgetAgent drops the agent id after the master refused it: every
// executor is destroyed and the next registration is a new agent's.
func (a *Agent) forgetAgent() {
	a.mu.Lock()
	var all []*executor
	images := make(map[*executor]bool)
	for _, f := range a.frameworks {
		for _, e := range f.executors {
			if e.state == execTerminated {
				continue
			}
			images[e] = e.usesImages()
			// The master has written these tasks off already: no updates.
			e.state = execTerminated
			if e.regTimer != nil {
				e.regTimer.Stop()
			}
			if e.conn != nil {
				e.conn.close()
				e.conn = nil
			}
			all = append(all, e)
		}
		a.sum.Cleanup(f.id)
	}
	a.frameworks = make(map[string]*framework)
	a.completedFrameworks = nil
	oldID := a.agentID
	a.agentID = ""
	a.info.Id = nil
	a.mu.Unlock()
	for _, e := range all {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, _ = a.destroyContainer(ctx, e)
		a.mu.Lock()
		a.forgetContainerLocked(e)
		a.mu.Unlock()
		if images[e] && a.cfg.Images != nil && a.cfg.Images.Unavailable() == "" && oldID != "" {
			if _, err := a.cfg.Images.RemoveContainer(ctx, oldID, e.containerID); err != nil {
				a.log.Warn("remove the image containers of a destroyed executor", "container", e.containerID, "error", err)
			}
		}
		cancel()
	}
	_ = removeIfExists(a.layout.MetaLatestLink())
}

// streamClient is used for the long-lived registration stream (no overall
// timeout; the ping watchdog bounds a dead stream).
var streamClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConnsPerHost:   2,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// callClient is used for the short calls to the master.
var callClient = &http.Client{
	Timeout: callTimeout,
	Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}
