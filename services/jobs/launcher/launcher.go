package launcher

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/taskstate"
	"strata/kernel/scheduler"
	"strata/services/apps/placement"
)

// Launched describes a task about to be launched.
type Launched struct {
	TaskID, AgentID, Hostname string
	// Sandbox is the URL of the task's sandbox on its agent's /files API.
	Sandbox string
	At      time.Time
}

// Update is a status update of a task.
type Update struct {
	TaskID, AgentID string
	State           mesospb.TaskState
	Reason          string
	Message         string
	At              time.Time
	// Healthy is the task's health, when it has a check.
	Healthy *bool
}

// Terminal reports whether the update ends its task (or says Mesos does
// not know it).
func (u Update) Terminal() bool {
	return taskstate.IsTerminal(u.State) || u.State == mesospb.TaskState_TASK_UNKNOWN
}

// task is one task the launcher tracks.
type task struct {
	id, name   string
	spec       Spec
	matcher    *placement.Matcher
	queuedAt   time.Time
	launched   bool
	agentID    string
	killWanted bool
	killSentAt time.Time
}

// Launcher is the jobs service's framework. Create it with New, Track the
// tasks already launched, then Run.
type Launcher struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics

	clientPtr atomic.Pointer[scheduler.Client]
	kickCh    chan struct{}

	mu          sync.Mutex
	tasks       map[string]*task
	frameworkID string
	connected   bool
	reconciled  bool
	generation  int
	pending     map[string]bool
	suppressed  bool
	reviveWant  bool
	lastRecon   time.Time
}

// New checks cfg and returns a Launcher.
func New(cfg Config) (*Launcher, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	l := &Launcher{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "jobs-launcher"),
		kickCh:  make(chan struct{}, 1),
		tasks:   map[string]*task{},
		pending: map[string]bool{},
	}
	l.metrics = newMetrics(l, cfg.Registerer)
	return l, nil
}

// Launch queues a task: it is launched on the first offer that fits it once
// the launcher is reconciled. Queuing a task the launcher tracks does
// nothing.
func (l *Launcher) Launch(taskID, name string, spec Spec) error {
	if err := spec.validate(); err != nil {
		return err
	}
	m, err := spec.matcher(l.cfg.Role)
	if err != nil {
		return fmt.Errorf("launcher: %w", err)
	}
	l.mu.Lock()
	if _, ok := l.tasks[taskID]; !ok {
		l.tasks[taskID] = &task{id: taskID, name: name, spec: spec, matcher: m, queuedAt: time.Now()}
		l.reviveWant = true
	}
	l.mu.Unlock()
	l.kick()
	return nil
}

// Track makes the launcher track a task launched before (by an earlier
// process): reconciliation asks the master about it.
func (l *Launcher) Track(taskID, agentID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.tasks[taskID]; ok {
		t.launched, t.agentID = true, agentID
		return
	}
	l.tasks[taskID] = &task{id: taskID, launched: true, agentID: agentID}
}

// Kill kills a task: a queued one is dropped at once (reported false: no
// update will come), a launched one is killed until it ends (true).
func (l *Launcher) Kill(taskID string) bool {
	l.mu.Lock()
	t := l.tasks[taskID]
	if t == nil {
		l.mu.Unlock()
		return false
	}
	if !t.launched {
		delete(l.tasks, taskID)
		l.mu.Unlock()
		return false
	}
	t.killWanted = true
	t.killSentAt = time.Time{}
	l.mu.Unlock()
	l.kick()
	return true
}

// Queued reports whether a task waits for an offer.
func (l *Launcher) Queued(taskID string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tasks[taskID]
	return t != nil && !t.launched
}

// Reconciled reports whether the launcher is subscribed and reconciled.
func (l *Launcher) Reconciled() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.connected && l.reconciled
}

// FrameworkID is the framework's id once registered.
func (l *Launcher) FrameworkID() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frameworkID
}

func (l *Launcher) client() *scheduler.Client { return l.clientPtr.Load() }

func (l *Launcher) kick() {
	select {
	case l.kickCh <- struct{}{}:
	default:
	}
}

// sandboxURL is where a task's sandbox is browsed on its agent.
func sandboxURL(o *mesospb.Offer, frameworkID, taskID string) string {
	addr := o.GetUrl().GetAddress()
	host := addr.GetIp()
	if host == "" {
		host = addr.GetHostname()
	}
	if host == "" || addr.GetPort() == 0 {
		return ""
	}
	scheme := o.GetUrl().GetScheme()
	if scheme == "" {
		scheme = "http"
	}
	path := fmt.Sprintf("/frameworks/%s/executors/%s/runs/latest", frameworkID, taskID)
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(int(addr.GetPort()))) +
		"/files/browse?path=" + url.QueryEscape(path)
}

// waiting lists the queued tasks, oldest first. l.mu is held.
func (l *Launcher) waiting() []*task {
	var out []*task
	for _, t := range l.tasks {
		if !t.launched && t.matcher != nil {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].queuedAt.Equal(out[b].queuedAt) {
			return out[a].queuedAt.Before(out[b].queuedAt)
		}
		return out[a].id < out[b].id
	})
	return out
}

// offers launches queued tasks on the offers that fit them and declines the
// rest.
func (l *Launcher) offers(ctx context.Context, offers []*mesospb.Offer) {
	l.metrics.offers.Add(float64(len(offers)))
	type launch struct {
		offer *mesospb.Offer
		tasks []*mesospb.TaskInfo
		info  []Launched
	}
	var launches []launch
	var declineIdle, declineUnfit []*mesospb.OfferID
	now := time.Now().UTC()

	l.mu.Lock()
	var waiting []*task
	if l.reconciled {
		waiting = l.waiting()
	}
	fid := l.frameworkID
	for _, o := range offers {
		r := placement.NewRemaining(o)
		var ln launch
		rest := waiting[:0]
		for _, t := range waiting {
			fit, rej := t.matcher.Match(r, nil, nil)
			if rej != nil {
				rest = append(rest, t)
				continue
			}
			ln.tasks = append(ln.tasks, t.spec.taskInfo(t.id, t.name, fit))
			ln.info = append(ln.info, Launched{
				TaskID: t.id, AgentID: fit.AgentID, Hostname: fit.Hostname,
				Sandbox: sandboxURL(o, fid, t.id), At: now,
			})
			t.launched, t.agentID = true, fit.AgentID // claimed; undone if not launched
		}
		waiting = rest
		switch {
		case len(ln.tasks) > 0:
			ln.offer = o
			launches = append(launches, ln)
		case len(waiting) > 0:
			declineUnfit = append(declineUnfit, o.GetId())
		default:
			declineIdle = append(declineIdle, o.GetId())
		}
	}
	more := len(waiting) > 0
	l.mu.Unlock()

	for _, ln := range launches {
		var ok []*mesospb.TaskInfo
		for k, info := range ln.info {
			if err := l.cfg.Observer.Launching(ctx, info); err != nil {
				l.log.Error("recording a launch; the task stays queued", "task", info.TaskID, "err", err)
				l.unclaim(info.TaskID)
				continue
			}
			ok = append(ok, ln.tasks[k])
		}
		if len(ok) == 0 {
			declineUnfit = append(declineUnfit, ln.offer.GetId())
			continue
		}
		refuse := l.cfg.DeclineRefuse
		if more {
			refuse = l.cfg.UnfitRefuse
		}
		if err := l.client().Launch(ctx, []*mesospb.OfferID{ln.offer.GetId()}, ok, refuseFor(refuse)); err != nil {
			// The launch may or may not have reached the master; the tasks
			// stay tracked as launched, and reconciliation tells.
			l.log.Error("launch failed; reconciliation will tell whether the tasks run", "agent", ln.offer.GetHostname(), "err", err)
			l.mu.Lock()
			for _, t := range ok {
				l.pending[t.GetTaskId().GetValue()] = true
			}
			l.lastRecon = time.Time{}
			l.mu.Unlock()
			continue
		}
		l.metrics.launched.Add(float64(len(ok)))
		ids := make([]string, len(ok))
		for k, t := range ok {
			ids[k] = t.GetTaskId().GetValue()
		}
		l.log.Info("launched", "agent", ln.offer.GetHostname(), "tasks", ids)
	}
	l.decline(ctx, declineUnfit, l.cfg.UnfitRefuse)
	l.decline(ctx, declineIdle, l.cfg.DeclineRefuse)
	l.kick()
}

func (l *Launcher) unclaim(taskID string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := l.tasks[taskID]; t != nil {
		t.launched, t.agentID = false, ""
	}
}

func (l *Launcher) decline(ctx context.Context, ids []*mesospb.OfferID, refuse time.Duration) {
	if len(ids) == 0 {
		return
	}
	l.metrics.declined.Add(float64(len(ids)))
	if err := l.client().Decline(ctx, ids, refuseFor(refuse)); err != nil {
		l.log.Warn("decline", "offers", len(ids), "err", err)
	}
}

func refuseFor(d time.Duration) *mesospb.Filters {
	return &mesospb.Filters{RefuseSeconds: proto.Float64(d.Seconds())}
}

// update hands a status update to the observer and forgets a task that
// ended. An error leaves the update unacknowledged.
func (l *Launcher) update(ctx context.Context, st *mesospb.TaskStatus) error {
	tid := st.GetTaskId().GetValue()
	u := Update{
		TaskID: tid, AgentID: st.GetAgentId().GetValue(), State: st.GetState(),
		Message: st.GetMessage(), At: time.Now().UTC(), Healthy: st.Healthy,
	}
	if st.Reason != nil {
		u.Reason = st.GetReason().String()
	}
	if ts := st.GetTimestamp(); ts > 0 {
		u.At = time.Unix(0, int64(ts*1e9)).UTC()
	}
	l.metrics.updates.WithLabelValues(u.State.String()).Inc()
	l.mu.Lock()
	delete(l.pending, tid)
	t := l.tasks[tid]
	l.mu.Unlock()
	if t == nil {
		l.cfg.Observer.Unknown(ctx, u)
		if !u.Terminal() && u.State != mesospb.TaskState_TASK_KILLING {
			l.log.Warn("killing a task the jobs service does not know", "task", tid, "state", u.State.String())
			if err := l.client().Kill(ctx, st.GetTaskId(), st.GetAgentId(), nil); err != nil {
				l.log.Warn("kill unknown task", "task", tid, "err", err)
			}
		}
		return nil
	}
	if err := l.cfg.Observer.Update(ctx, u); err != nil {
		return err
	}
	if u.Terminal() {
		l.mu.Lock()
		if l.tasks[tid] == t {
			delete(l.tasks, tid)
		}
		l.mu.Unlock()
	} else if u.AgentID != "" {
		l.mu.Lock()
		t.agentID = u.AgentID
		l.mu.Unlock()
	}
	return nil
}
