package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
)

// handshakeTimeout bounds the wait for SUBSCRIBED after sending SUBSCRIBE.
const handshakeTimeout = 15 * time.Second

// connState is the state of the connection to the agent.
type connState int

const (
	stateDisconnected connState = iota
	stateConnecting             // SUBSCRIBE sent, no SUBSCRIBED yet
	stateSubscribed
)

// executor is the state of one Run. Everything except the fields set at
// construction is owned by the event loop goroutine; other goroutines hand
// work to it with post.
type executor struct {
	cfg    Config
	log    *slog.Logger
	tr     *transport
	sender *sender
	ctx    context.Context // cancelled when Run returns
	inbox  chan func()
	done   chan struct{} // closed when the event loop has ended
	pid    int
	hostIP string
	start  time.Time
	// bg tracks goroutines that must end before Run returns.
	bg sync.WaitGroup

	// Connection.
	gen            int // generation of the latest connection attempt, from 1
	state          connState
	cancelConn     context.CancelFunc
	subscribedOnce bool
	attempts       int // failed attempts since the last SUBSCRIBED
	recoveryTimer  *time.Timer
	// gaveUp is set when no further connection attempt will be made.
	gaveUp bool

	// From SUBSCRIBED.
	frameworkInfo *mesospb.FrameworkInfo
	agentID       *mesospb.AgentID
	containerID   *mesospb.ContainerID

	updates []*pendingUpdate // unacknowledged, oldest first
	// tasks are the tasks launched so far, in launch order (at most one for
	// the command executor).
	tasks        []*task
	shuttingDown bool
	ackTimer     *time.Timer
	ackExpired   bool

	exiting bool
	exitErr error
	// launched is cfg.Launched until it has been called.
	launched func()
}

// Run runs the executor (cfg.Mode says which) until its tasks have ended and
// their terminal updates were acknowledged, or it was shut down. Cancelling
// ctx (the signal context of the process) shuts the executor down like a
// SHUTDOWN event: the tasks are killed and their terminal updates sent if
// possible. The error is nil after a normal end, and describes the reason
// otherwise (invalid configuration, no subscription, lost agent).
func Run(ctx context.Context, cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	ictx, cancel := context.WithCancel(context.Background())
	defer cancel()

	tr := newTransport(cfg)
	e := &executor{
		cfg:      cfg,
		log:      cfg.Logger,
		tr:       tr,
		sender:   newSender(tr),
		ctx:      ictx,
		inbox:    make(chan func(), 64),
		done:     make(chan struct{}),
		pid:      os.Getpid(),
		hostIP:   resolveHostIP(cfg.HostIP, cfg.AgentEndpoint),
		start:    time.Now(),
		launched: cfg.Launched,
	}
	go e.sender.run(ictx)

	e.log.Info("Starting the "+cfg.Mode.String(), "framework_id", cfg.FrameworkID, "executor_id", cfg.ExecutorID,
		"agent", cfg.AgentEndpoint, "codec", cfg.Codec.Name(), "checkpoint", cfg.Checkpoint, "sandbox", cfg.Sandbox)
	e.connect()
	err = e.loop(ctx)
	e.launchOver()
	e.cleanup()
	cancel()
	tr.client.CloseIdleConnections()
	if err != nil {
		e.log.Error("The "+cfg.Mode.String()+" is exiting", "err", err)
	} else {
		e.log.Info("The " + cfg.Mode.String() + " is exiting")
	}
	return err
}

// loop runs posted work until the executor decides to exit.
func (e *executor) loop(ctx context.Context) error {
	defer close(e.done)
	ctxDone := ctx.Done()
	for !e.exiting {
		select {
		case f := <-e.inbox:
			f()
		case <-ctxDone:
			ctxDone = nil
			e.log.Info("Received a termination request")
			// Do not wait for an agent that may be gone.
			e.gaveUp = true
			e.shutdown()
		}
	}
	return e.exitErr
}

// cleanup runs after the loop: whatever is left of the tasks' process trees
// goes (Mesos destroys the container when the executor exits), and timers
// and connections stop.
func (e *executor) cleanup() {
	if e.cancelConn != nil {
		e.cancelConn()
	}
	for _, tm := range []*time.Timer{e.recoveryTimer, e.ackTimer} {
		if tm != nil {
			tm.Stop()
		}
	}
	e.cancelFetches()
	for _, t := range e.tasks {
		if t.ctr != nil {
			t.ctr.stopWatch()
		}
		if t.checker != nil {
			t.checker.Stop()
			t.checker = nil
		}
		if t.completionTimer != nil {
			t.completionTimer.Stop()
		}
		if t.proc != nil {
			if !t.terminated {
				e.log.Warn(fmt.Sprintf("Killing the task's process tree at pid %d before exiting", t.proc.Pid()), "task", t.id())
			}
			_ = t.proc.Kill(0)
		}
	}
	e.bg.Wait()
	for _, t := range e.tasks {
		if t.ctr != nil {
			e.cleanupContainer(t)
		}
	}
}

// post hands f to the event loop; it is dropped once the loop has ended.
func (e *executor) post(f func()) {
	select {
	case e.inbox <- f:
	case <-e.done:
	}
}

// after runs f on the event loop after d.
func (e *executor) after(d time.Duration, f func()) *time.Timer {
	return time.AfterFunc(d, func() { e.post(f) })
}

// finish ends the event loop.
func (e *executor) finish() { e.exiting = true }

// setExitErr records the first reason for an abnormal exit.
func (e *executor) setExitErr(err error) {
	if e.exitErr == nil {
		e.exitErr = err
	}
}

// connect starts a new subscription attempt.
func (e *executor) connect() {
	e.gen++
	gen := e.gen
	e.sender.setGen(gen)
	e.state = stateConnecting

	call := e.baseCall(executorpb.Call_SUBSCRIBE)
	sub := &executorpb.Call_Subscribe{}
	for _, t := range e.tasks {
		if !t.acknowledged {
			sub.UnacknowledgedTasks = append(sub.UnacknowledgedTasks, t.info)
		}
	}
	for _, p := range e.updates {
		sub.UnacknowledgedUpdates = append(sub.UnacknowledgedUpdates, p.update)
	}
	call.Subscribe = sub
	body, err := e.tr.marshal(call)
	if err != nil {
		e.setExitErr(err)
		e.finish()
		return
	}
	for _, p := range e.updates {
		p.gen = gen
	}
	if e.subscribedOnce {
		e.log.Info("Resubscribing to the agent", "unacknowledged_tasks", len(sub.UnacknowledgedTasks),
			"unacknowledged_updates", len(sub.UnacknowledgedUpdates))
	}

	ctx, cancel := context.WithCancelCause(e.ctx)
	e.cancelConn = func() { cancel(nil) }
	handshake := time.AfterFunc(handshakeTimeout, func() {
		cancel(fmt.Errorf("executor: no SUBSCRIBED event within %v", handshakeTimeout))
	})
	go e.readStream(ctx, gen, body, handshake)
}

// readStream subscribes and posts every event of the stream to the loop,
// then the end of the stream.
func (e *executor) readStream(ctx context.Context, gen int, body []byte, handshake *time.Timer) {
	lost := func(err error) {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = cause
		}
		e.post(func() { e.connectionLost(gen, err) })
	}
	st, err := e.tr.subscribe(ctx, body)
	if err != nil {
		handshake.Stop()
		lost(err)
		return
	}
	defer st.close()
	for {
		ev, err := st.next()
		if err != nil {
			if errors.Is(err, errUndecodable) {
				e.post(func() { e.log.Error("Dropping an event that could not be decoded", "err", err) })
				continue
			}
			handshake.Stop()
			lost(err)
			return
		}
		if ev.GetType() == executorpb.Event_SUBSCRIBED {
			handshake.Stop()
		}
		e.post(func() { e.handleEvent(gen, ev) })
	}
}

// connectionLost handles the end of a subscription attempt or stream.
func (e *executor) connectionLost(gen int, err error) {
	if gen != e.gen || e.exiting {
		return
	}
	wasSubscribed := e.state == stateSubscribed
	e.state = stateDisconnected
	e.cancelConn()
	e.sender.setGen(0)
	if wasSubscribed {
		e.log.Warn("Disconnected from the agent", "err", err)
	} else {
		e.log.Warn("Failed to subscribe to the agent", "err", err)
	}

	switch {
	case e.gaveUp:
		e.maybeExit()
	case !e.subscribedOnce:
		if time.Since(e.start) >= e.cfg.RegistrationTimeout {
			e.gaveUp = true
			e.setExitErr(fmt.Errorf("executor: could not subscribe to the agent at %s within %v: %w",
				e.cfg.AgentEndpoint, e.cfg.RegistrationTimeout, err))
			e.shutdown()
			return
		}
		e.scheduleReconnect()
	case !e.cfg.Checkpoint:
		e.gaveUp = true
		e.setExitErr(fmt.Errorf("executor: disconnected from the agent and the framework does not checkpoint: %w", err))
		e.log.Info("The framework does not checkpoint: shutting down")
		e.shutdown()
	default:
		if e.recoveryTimer == nil {
			e.log.Info("Trying to resubscribe for up to " + FormatDuration(e.cfg.RecoveryTimeout))
			e.recoveryTimer = e.after(e.cfg.RecoveryTimeout, e.recoveryTimeout)
		}
		e.scheduleReconnect()
	}
}

// scheduleReconnect starts the next subscription attempt after a randomized
// exponential backoff capped at SubscriptionBackoffMax.
func (e *executor) scheduleReconnect() {
	d := min(100*time.Millisecond<<min(e.attempts, 20), e.cfg.SubscriptionBackoffMax)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	e.attempts++
	e.after(d, func() {
		if e.state == stateDisconnected && !e.gaveUp && !e.exiting {
			e.connect()
		}
	})
}

// recoveryTimeout gives up on the agent.
func (e *executor) recoveryTimeout() {
	e.recoveryTimer = nil
	if e.state == stateSubscribed || e.exiting {
		return
	}
	e.log.Error("Could not resubscribe to the agent within " + FormatDuration(e.cfg.RecoveryTimeout) + "; shutting down")
	if e.cancelConn != nil {
		e.cancelConn()
	}
	e.gen++ // a pending attempt is void
	e.state = stateDisconnected
	e.gaveUp = true
	e.setExitErr(fmt.Errorf("executor: agent at %s not reachable within the recovery timeout of %v",
		e.cfg.AgentEndpoint, e.cfg.RecoveryTimeout))
	e.shutdown()
}

// handleEvent dispatches one event of connection gen.
func (e *executor) handleEvent(gen int, ev *executorpb.Event) {
	if gen != e.gen || e.exiting {
		return
	}
	typ := ev.GetType()
	if typ == executorpb.Event_HEARTBEAT {
		e.log.Debug("Received HEARTBEAT event")
		return
	}
	e.log.Info(fmt.Sprintf("Received %v event", typ))
	if e.state != stateSubscribed && typ != executorpb.Event_SUBSCRIBED {
		e.log.Warn(fmt.Sprintf("Ignoring %v event received before SUBSCRIBED", typ))
		return
	}
	switch typ {
	case executorpb.Event_SUBSCRIBED:
		e.subscribed(ev.GetSubscribed())
	case executorpb.Event_LAUNCH:
		if e.cfg.Mode == DefaultMode {
			// Mesos' default executor does the same: LAUNCH never goes to
			// it, so something is badly wrong.
			e.log.Error("LAUNCH is not supported by the default executor, which runs task groups (LAUNCH_GROUP); shutting down",
				"task", ev.GetLaunch().GetTask().GetTaskId().GetValue())
			e.shutdown()
			return
		}
		e.launch(ev.GetLaunch().GetTask())
	case executorpb.Event_LAUNCH_GROUP:
		if e.cfg.Mode != DefaultMode {
			e.log.Error("LAUNCH_GROUP is not supported by the command executor; shutting down")
			e.shutdown()
			return
		}
		e.launchGroup(ev.GetLaunchGroup().GetTaskGroup())
	case executorpb.Event_KILL:
		e.killRequested(ev.GetKill())
	case executorpb.Event_ACKNOWLEDGED:
		e.acknowledged(ev.GetAcknowledged())
	case executorpb.Event_SHUTDOWN:
		e.shutdown()
	case executorpb.Event_MESSAGE:
		e.log.Info(fmt.Sprintf("Ignoring framework message of %d bytes: the %s has no use for it",
			len(ev.GetMessage().GetData()), e.cfg.Mode))
	case executorpb.Event_ERROR:
		e.log.Error("Error from the agent: " + ev.GetError().GetMessage())
	default:
		e.log.Warn(fmt.Sprintf("Ignoring event of unknown type %v", typ))
	}
}

// subscribed handles SUBSCRIBED: the connection is up.
func (e *executor) subscribed(s *executorpb.Event_Subscribed) {
	e.state = stateSubscribed
	e.subscribedOnce = true
	e.attempts = 0
	if e.recoveryTimer != nil {
		e.recoveryTimer.Stop()
		e.recoveryTimer = nil
	}
	e.frameworkInfo = s.GetFrameworkInfo()
	if id := s.GetAgentInfo().GetId(); id != nil {
		e.agentID = id
	}
	if id := s.GetContainerId(); id != nil {
		e.containerID = id
	}
	e.log.Info("Subscribed executor on " + s.GetAgentInfo().GetHostname())

	// Updates created while SUBSCRIBE was in flight were not part of it.
	for _, p := range e.updates {
		if p.gen != e.gen {
			e.send(p)
		}
	}
	if e.allTerminated() && e.pendingTerminal() != nil {
		// Give the agent that is back the full time to acknowledge.
		e.startAckTimer()
	}
}

// baseCall returns a call of the given type with the executor's ids.
func (e *executor) baseCall(typ executorpb.Call_Type) *executorpb.Call {
	return &executorpb.Call{
		FrameworkId: &mesospb.FrameworkID{Value: proto.String(e.cfg.FrameworkID)},
		ExecutorId:  &mesospb.ExecutorID{Value: proto.String(e.cfg.ExecutorID)},
		Type:        typ.Enum(),
	}
}

// forward records a new status update of t (nil for an update about another
// task) and sends it when subscribed; otherwise it goes out with the next
// SUBSCRIBE.
func (e *executor) forward(t *task, st *mesospb.TaskStatus) {
	p := &pendingUpdate{update: &executorpb.Call_Update{Status: st}}
	e.updates = append(e.updates, p)
	if t != nil {
		t.last = st
	}
	attrs := []any{"task", st.GetTaskId().GetValue(), "uuid", formatUUID(st.GetUuid())}
	if st.Healthy != nil {
		attrs = append(attrs, "healthy", st.GetHealthy())
	}
	e.log.Info(fmt.Sprintf("Sending status update %v", st.GetState()), attrs...)
	if e.state == stateSubscribed {
		e.send(p)
	}
	if t != nil && isTerminal(st.GetState()) && e.allTerminated() {
		e.startAckTimer()
	}
}

// maxSendAttempts bounds UPDATE retries on one connection.
const maxSendAttempts = 3

// send posts an UPDATE for p on the current connection.
func (e *executor) send(p *pendingUpdate) {
	call := e.baseCall(executorpb.Call_UPDATE)
	call.Update = p.update
	body, err := e.tr.marshal(call)
	if err != nil {
		e.log.Error("Cannot send status update", "err", err)
		return
	}
	gen := e.gen
	p.gen = gen
	attempt := 0
	var try func()
	try = func() {
		attempt++
		e.sender.enqueue(gen, body, func(err error) {
			e.post(func() {
				switch {
				case err == nil:
					p.delivered = true
					e.maybeExit()
				case errors.Is(err, errStale):
					// Goes out again with the next SUBSCRIBE.
				case gen == e.gen && e.state == stateSubscribed && attempt < maxSendAttempts && e.isPending(p):
					e.log.Warn("Failed to send status update; retrying", "uuid", formatUUID(p.status().GetUuid()), "err", err)
					e.after(time.Duration(attempt)*time.Second, func() {
						if gen == e.gen && e.state == stateSubscribed && e.isPending(p) {
							try()
						}
					})
				default:
					e.log.Warn("Failed to send status update; it is sent again after resubscribing",
						"uuid", formatUUID(p.status().GetUuid()), "err", err)
				}
			})
		})
	}
	try()
}

func (e *executor) isPending(p *pendingUpdate) bool {
	for _, q := range e.updates {
		if q == p {
			return true
		}
	}
	return false
}

// acknowledged handles ACKNOWLEDGED: the agent has stored an update.
func (e *executor) acknowledged(a *executorpb.Event_Acknowledged) {
	uuid := a.GetUuid()
	idx := -1
	for i, p := range e.updates {
		if string(p.status().GetUuid()) == string(uuid) {
			idx = i
			break
		}
	}
	if idx < 0 {
		e.log.Warn("Received acknowledgement " + formatUUID(uuid) + " for unknown status update")
		return
	}
	p := e.updates[idx]
	e.updates = append(e.updates[:idx], e.updates[idx+1:]...)
	if t := e.findTask(p.status().GetTaskId().GetValue()); t != nil {
		t.acknowledged = true
		if s := p.status().GetState(); s == mesospb.TaskState_TASK_RUNNING || isTerminal(s) {
			e.launchOver()
		}
	}
	e.log.Debug("Status update acknowledged", "state", p.status().GetState().String(), "uuid", formatUUID(uuid))
	e.maybeExit()
}

// launchOver calls cfg.Launched the first time.
func (e *executor) launchOver() {
	if f := e.launched; f != nil {
		e.launched = nil
		f()
	}
}

// pendingTerminal returns the oldest unacknowledged terminal update of one
// of the executor's tasks, if any.
func (e *executor) pendingTerminal() *pendingUpdate {
	for _, p := range e.updates {
		if isTerminal(p.status().GetState()) && e.findTask(p.status().GetTaskId().GetValue()) != nil {
			return p
		}
	}
	return nil
}

// startAckTimer (re)starts the wait for the terminal update's acknowledgement.
func (e *executor) startAckTimer() {
	if e.ackTimer != nil {
		e.ackTimer.Stop()
	}
	e.ackExpired = false
	e.ackTimer = e.after(e.cfg.AckTimeout, func() {
		e.ackExpired = true
		e.maybeExit()
	})
}

// shutdown kills every task, leaving a buffer of the shutdown grace period
// for the terminal updates, and exits once that is done.
func (e *executor) shutdown() {
	if !e.shuttingDown {
		e.log.Info("Shutting down")
	}
	e.shuttingDown = true
	e.cancelFetches()
	for _, t := range e.tasks {
		// A container still being started is killed too (its start is
		// cancelled).
		if (t.launched || t.ctr != nil) && !t.terminated {
			e.killTask(t, shutdownKillGrace(e.cfg.ShutdownGracePeriod))
		}
	}
	e.maybeExit()
}

// shutdownKillGrace is the kill grace period on SHUTDOWN: the executor's
// shutdown grace period minus ShutdownBuffer, and at least zero.
func shutdownKillGrace(shutdownGrace time.Duration) time.Duration {
	return max(shutdownGrace-ShutdownBuffer, 0)
}

// maybeExit ends the executor when its work is done: every task has ended
// and the terminal updates were acknowledged, or cannot be, or were given
// enough time.
func (e *executor) maybeExit() {
	if e.exiting {
		return
	}
	if len(e.tasks) == 0 {
		if e.shuttingDown {
			e.finish()
		}
		return
	}
	if !e.allTerminated() {
		return
	}
	p := e.pendingTerminal()
	switch {
	case p == nil:
		e.log.Info("Terminal status updates acknowledged")
		e.finish()
	case e.state != stateSubscribed && e.gaveUp:
		e.log.Warn("Exiting without an acknowledgement of the terminal status update: no connection to the agent")
		e.finish()
	case e.ackExpired && (p.delivered || e.state == stateSubscribed):
		e.log.Warn("No acknowledgement of the terminal status update within " + FormatDuration(e.cfg.AckTimeout) + "; exiting")
		e.finish()
	}
}
