package statusupdate

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/internalpb"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/taskstate"
)

// Update is one status update as sent to the master.
type Update = internalpb.AgentCall_StatusUpdate

// Errors of Update and Acknowledge.
var (
	// ErrDuplicate: an update with this uuid was already received.
	ErrDuplicate = errors.New("statusupdate: duplicate update")
	// ErrInvalid: the update lacks a framework id, task id or uuid.
	ErrInvalid = errors.New("statusupdate: invalid update")
	// ErrUnknownStream: no stream for the framework and task.
	ErrUnknownStream = errors.New("statusupdate: no such task stream")
	// ErrUnexpectedAck: the uuid is not the update in flight.
	ErrUnexpectedAck = errors.New("statusupdate: acknowledgement does not match the update in flight")
	// ErrCheckpoint: the update could not be written to its checkpoint file.
	ErrCheckpoint = errors.New("statusupdate: cannot checkpoint the update")
)

// Config configures a Manager.
type Config struct {
	// RetryMin is the first retry delay (default 10s); it doubles up to
	// RetryMax (default 10m).
	RetryMin, RetryMax time.Duration
	// Forward sends an update to the master. It is called without the
	// manager's lock held, must not block for long, and needs not report
	// failure: the manager retries until acknowledged.
	Forward func(*Update)
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
}

// Manager keeps the status update streams of all tasks. Create it with New.
type Manager struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	paused  bool
	closed  bool
	streams map[streamKey]*stream
}

type streamKey struct{ framework, task string }

type stream struct {
	key      streamKey
	path     string // checkpoint file, "" when not checkpointing
	pending  []*Update
	received map[string]bool
	acked    map[string]bool
	latest   mesospb.TaskState
	timer    *time.Timer
	backoff  time.Duration
	gen      uint64
}

// AckResult tells what an acknowledgement did.
type AckResult struct {
	// Update is the update that was acknowledged.
	Update *Update
	// Terminal is true when that update carried a terminal state.
	Terminal bool
	// Closed is true when the stream is gone (terminal update acknowledged
	// and nothing pending behind it).
	Closed bool
}

// New returns a paused manager.
func New(cfg Config) *Manager {
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 10 * time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(10*time.Minute, cfg.RetryMin)
	}
	if cfg.Forward == nil {
		cfg.Forward = func(*Update) {}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Manager{cfg: cfg, log: log.With("component", "statusupdate"), paused: true, streams: make(map[streamKey]*stream)}
}

// IsTerminal reports whether a task state is terminal for the agent (the task is gone and will
// not come back).
func IsTerminal(s mesospb.TaskState) bool { return taskstate.IsTerminal(s) }

func validate(u *Update) error {
	switch {
	case u == nil || u.GetFrameworkId().GetValue() == "":
		return fmt.Errorf("%w: missing framework_id", ErrInvalid)
	case u.GetStatus().GetTaskId().GetValue() == "":
		return fmt.Errorf("%w: missing status.task_id", ErrInvalid)
	case len(u.GetStatus().GetUuid()) == 0:
		return fmt.Errorf("%w: missing status.uuid", ErrInvalid)
	}
	return nil
}

func newStream(key streamKey, path string) *stream {
	return &stream{key: key, path: path, received: map[string]bool{}, acked: map[string]bool{}}
}

// Update adds an update to its task's stream and, when checkpointPath is
// not empty, appends it to that task.updates file before returning. The
// checkpoint path of an existing stream is kept. ErrDuplicate means the uuid
// was seen before; the caller should still acknowledge it to the executor.
// When the update cannot be checkpointed (a full disk), the error wraps
// ErrCheckpoint and the update is not taken.
func (m *Manager) Update(u *Update, checkpointPath string) error {
	return m.update(u, checkpointPath, true)
}

// UpdateUncheckpointed adds an update to its task's stream without writing it
// to the stream's checkpoint file: it is delivered (and retried) like any
// other, but not durable. It is for an update the agent makes itself (which
// has no other holder) when Update failed with ErrCheckpoint: a task that
// ended must not stay live for the master because the disk is full.
func (m *Manager) UpdateUncheckpointed(u *Update, checkpointPath string) error {
	return m.update(u, checkpointPath, false)
}

func (m *Manager) update(u *Update, checkpointPath string, checkpoint bool) error {
	if err := validate(u); err != nil {
		return err
	}
	u = proto.Clone(u).(*Update)
	key := streamKey{u.GetFrameworkId().GetValue(), u.GetStatus().GetTaskId().GetValue()}
	uuid := string(u.GetStatus().GetUuid())

	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errors.New("statusupdate: manager closed")
	}
	s := m.streams[key]
	created := s == nil
	if created {
		s = newStream(key, checkpointPath)
	}
	if s.received[uuid] || s.acked[uuid] {
		m.mu.Unlock()
		return fmt.Errorf("%w: task %s uuid %x", ErrDuplicate, key.task, uuid)
	}
	if s.path != "" && checkpoint {
		if err := appendRecord(s.path, record{update: u}); err != nil {
			m.mu.Unlock()
			return fmt.Errorf("%w: %w", ErrCheckpoint, err)
		}
	}
	if created {
		m.streams[key] = s
	}
	s.received[uuid] = true
	s.pending = append(s.pending, u)
	s.latest = u.GetStatus().GetState()
	// Only the front is in flight; a later update waits for its turn (the
	// next retry of the front carries the new latest_state).
	var send *Update
	if len(s.pending) == 1 && !m.paused {
		send = m.arm(s, true)
	}
	m.mu.Unlock()
	if send != nil {
		m.cfg.Forward(send)
	}
	return nil
}

// arm prepares the front of s for sending now and schedules its retry.
// reset restarts the backoff at RetryMin. Called with m.mu held.
func (m *Manager) arm(s *stream, reset bool) *Update {
	if len(s.pending) == 0 {
		return nil
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	if reset || s.backoff == 0 {
		s.backoff = m.cfg.RetryMin
	} else {
		s.backoff = min(2*s.backoff, m.cfg.RetryMax)
	}
	s.gen++
	gen := s.gen
	s.timer = time.AfterFunc(s.backoff, func() { m.retry(s, gen) })
	out := proto.Clone(s.pending[0]).(*Update)
	latest := s.latest
	out.LatestState = &latest
	return out
}

func (m *Manager) retry(s *stream, gen uint64) {
	m.mu.Lock()
	if m.closed || m.paused || s.gen != gen || m.streams[s.key] != s || len(s.pending) == 0 {
		m.mu.Unlock()
		return
	}
	send := m.arm(s, false)
	m.mu.Unlock()
	m.log.Debug("retrying status update", "framework", s.key.framework, "task", s.key.task,
		"state", send.GetStatus().GetState().String())
	m.cfg.Forward(send)
}

// Acknowledge handles the scheduler's acknowledgement (relayed by the
// master) of the update with uuid. An acknowledgement that does not match the
// update in flight is ignored and reported with ErrUnexpectedAck (or
// ErrDuplicate when that uuid was acknowledged before).
func (m *Manager) Acknowledge(frameworkID, taskID string, uuid []byte) (AckResult, error) {
	key := streamKey{frameworkID, taskID}
	m.mu.Lock()
	s := m.streams[key]
	if s == nil {
		m.mu.Unlock()
		return AckResult{}, fmt.Errorf("%w: framework %s task %s", ErrUnknownStream, frameworkID, taskID)
	}
	if s.acked[string(uuid)] {
		m.mu.Unlock()
		return AckResult{}, fmt.Errorf("%w: acknowledgement %x for task %s", ErrDuplicate, uuid, taskID)
	}
	if len(s.pending) == 0 || string(s.pending[0].GetStatus().GetUuid()) != string(uuid) {
		m.mu.Unlock()
		return AckResult{}, fmt.Errorf("%w: task %s uuid %x", ErrUnexpectedAck, taskID, uuid)
	}
	if s.path != "" {
		if err := appendRecord(s.path, record{ack: uuid}); err != nil {
			// The acknowledgement still counts: were it refused, the update
			// would be sent again and again until the disk has room. Should
			// the agent restart first, the recovered stream sends it once
			// more (at least once, as ever).
			m.log.Warn("cannot checkpoint an acknowledgement; keeping it in memory only",
				"framework", frameworkID, "task", taskID, "error", err)
		}
	}
	front := s.pending[0]
	s.pending = s.pending[1:]
	s.acked[string(uuid)] = true
	delete(s.received, string(uuid))
	if s.timer != nil {
		s.timer.Stop()
	}
	s.gen++
	res := AckResult{Update: front, Terminal: IsTerminal(front.GetStatus().GetState())}
	var send *Update
	if len(s.pending) == 0 {
		if res.Terminal {
			delete(m.streams, key)
			res.Closed = true
		}
	} else if !m.paused {
		send = m.arm(s, true)
	}
	m.mu.Unlock()
	if send != nil {
		m.cfg.Forward(send)
	}
	return res, nil
}

// Pause stops sending (the agent lost its master).
func (m *Manager) Pause() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.paused = true
	for _, s := range m.streams {
		if s.timer != nil {
			s.timer.Stop()
		}
		s.gen++
	}
}

// Resume starts sending again and sends the front of every stream now.
func (m *Manager) Resume() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.paused = false
	var sends []*Update
	for _, s := range m.sorted() {
		if u := m.arm(s, true); u != nil {
			sends = append(sends, u)
		}
	}
	m.mu.Unlock()
	for _, u := range sends {
		m.cfg.Forward(u)
	}
}

// sorted returns the streams in a stable order. Called with m.mu held.
func (m *Manager) sorted() []*stream {
	out := make([]*stream, 0, len(m.streams))
	for _, s := range m.streams {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key.framework != out[j].key.framework {
			return out[i].key.framework < out[j].key.framework
		}
		return out[i].key.task < out[j].key.task
	})
	return out
}

// Pending returns copies of every unacknowledged update, stream by stream
// in order, each with latest_state set (for re-registration).
func (m *Manager) Pending() []*Update {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Update
	for _, s := range m.sorted() {
		for _, u := range s.pending {
			c := proto.Clone(u).(*Update)
			latest := s.latest
			c.LatestState = &latest
			out = append(out, c)
		}
	}
	return out
}

// HasPending reports whether the task has unacknowledged updates.
func (m *Manager) HasPending(frameworkID, taskID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[streamKey{frameworkID, taskID}]
	return s != nil && len(s.pending) > 0
}

// Cleanup drops every stream of a framework (it was removed: nobody will
// acknowledge its updates).
func (m *Manager) Cleanup(frameworkID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.streams {
		if k.framework == frameworkID {
			if s.timer != nil {
				s.timer.Stop()
			}
			delete(m.streams, k)
		}
	}
}

// Close stops all timers; the manager forwards nothing afterwards.
func (m *Manager) Close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, s := range m.streams {
		if s.timer != nil {
			s.timer.Stop()
		}
	}
}

// Replay is what Recover read back from a task.updates file.
type Replay struct {
	// Updates are all updates ever received for the task, in order.
	Updates []*Update
	// Acked tells, by uuid, which of them were acknowledged.
	Acked map[string]bool
	// Closed is true when the terminal update was acknowledged and nothing is
	// pending: no stream was created.
	Closed bool
}

// Recover rebuilds a task's stream from its checkpoint file (which keeps
// being used). Unacknowledged updates are sent on Resume.
func (m *Manager) Recover(frameworkID, taskID, path string) (*Replay, error) {
	recs, err := readLog(path)
	if err != nil {
		return nil, err
	}
	key := streamKey{frameworkID, taskID}
	s := newStream(key, path)
	rep := &Replay{Acked: map[string]bool{}}
	terminalAcked := false
	for _, r := range recs {
		if r.update != nil {
			uuid := string(r.update.GetStatus().GetUuid())
			if s.received[uuid] || s.acked[uuid] {
				continue
			}
			s.received[uuid] = true
			s.pending = append(s.pending, r.update)
			s.latest = r.update.GetStatus().GetState()
			rep.Updates = append(rep.Updates, r.update)
			continue
		}
		if len(s.pending) > 0 && string(s.pending[0].GetStatus().GetUuid()) == string(r.ack) {
			terminalAcked = IsTerminal(s.pending[0].GetStatus().GetState())
			s.pending = s.pending[1:]
			s.acked[string(r.ack)] = true
			delete(s.received, string(r.ack))
			rep.Acked[string(r.ack)] = true
		}
	}
	if len(s.pending) == 0 && (terminalAcked || len(rep.Updates) == 0) {
		rep.Closed = terminalAcked
		return rep, nil
	}
	m.mu.Lock()
	m.streams[key] = s
	m.mu.Unlock()
	return rep, nil
}
