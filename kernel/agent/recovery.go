package agent

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent/checkpoint"
	"strata/kernel/agent/sandbox"
	"strata/kernel/containerizer"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
)

// recover rebuilds the agent's state from its checkpoints before anything
// else runs: the agent id, the checkpointing frameworks, their executors
// (re-attached through the containerizer when still running) and their
// tasks and status update streams. Containers the checkpoints do not name
// (those of frameworks that do not checkpoint) are destroyed.
func (a *Agent) recover(ctx context.Context) error {
	st, err := checkpoint.Recover(a.layout)
	if err != nil {
		return fmt.Errorf("agent: recover: %w", err)
	}
	for _, e := range st.Errors {
		a.metrics.recoveryErrors.Inc()
		a.log.Warn("skipping unreadable checkpoint", "error", e)
	}
	if st.BootID != "" && st.BootID != a.bootID {
		a.log.Info("the host rebooted since the last run; no executor survived")
	}
	// Executors run by the process containerizer, and custom executors in
	// podman containers of their images (ImageContainers).
	var known []string
	inImages := make(map[string]string)
	if st.AgentID != "" {
		for _, f := range st.Frameworks {
			for _, ex := range f.Executors {
				run := ex.Run(ex.LatestRun)
				if run == nil || run.Completed || run.Pid <= 0 {
					continue
				}
				if executorImage(kindOfRecovered(ex.Info), ex.Info) != nil {
					inImages[run.ContainerID] = a.layout.RunDir(st.AgentID, f.ID, ex.ID, run.ContainerID)
					continue
				}
				known = append(known, run.ContainerID)
			}
		}
	}
	res, err := a.cz.Recover(ctx, known)
	if err != nil {
		return fmt.Errorf("agent: recover containers: %w", err)
	}
	if len(res.Orphans) > 0 {
		a.log.Info("destroyed orphan containers", "containers", res.Orphans)
	}
	if st.AgentID == "" {
		return nil
	}
	alive := make(map[string]bool)
	for _, id := range res.Recovered {
		alive[id] = true
	}
	if len(inImages) > 0 {
		if why := a.imagesUnavailable(); why != "" {
			a.log.Warn("executors in image containers cannot be recovered", "reason", why, "executors", len(inImages))
		} else {
			found, err := a.cfg.Images.Recover(ctx, st.AgentID, inImages)
			if err != nil {
				a.log.Warn("recover executors in image containers", "error", err)
			}
			for _, id := range found {
				alive[id] = true
			}
		}
	}

	a.mu.Lock()
	a.agentID = st.AgentID
	a.info.Id = &mesospb.AgentID{Value: proto.String(st.AgentID)}
	if old := st.AgentInfo; old != nil && !resources.Equal(old.GetResources(), a.info.GetResources()) {
		a.log.Warn("agent resources changed since the last run; keeping the agent id",
			"before", resources.Format(old.GetResources()), "now", resources.Format(a.info.GetResources()))
	}
	var gone []*executor
	for _, fs := range st.Frameworks {
		f := &framework{id: fs.ID, info: fs.Info, executors: make(map[string]*executor)}
		a.frameworks[f.id] = f
		for _, ex := range fs.Executors {
			for _, run := range ex.Runs {
				if run.ContainerID == ex.LatestRun {
					continue
				}
				// Older runs: only their unacknowledged updates matter.
				for _, ts := range run.Tasks {
					if _, err := a.sum.Recover(f.id, ts.ID, ts.UpdatesPath); err != nil {
						a.log.Warn("recover status updates", "task", ts.ID, "error", err)
					}
				}
			}
			run := ex.Run(ex.LatestRun)
			if run == nil {
				continue
			}
			e := a.recoverExecutorLocked(f, ex, run)
			switch {
			case run.Completed:
				e.state = execTerminated
			case alive[run.ContainerID]:
				a.recovered = append(a.recovered, e)
			default:
				gone = append(gone, e)
			}
		}
	}
	for _, f := range a.sortedFrameworks() {
		for _, e := range f.sortedExecutors() {
			if e.state == execTerminated {
				a.maybeRemoveExecutorLocked(e)
			}
		}
		a.maybeRemoveFrameworkLocked(f)
	}
	a.mu.Unlock()
	a.log.Info("recovered checkpointed state", "agent_id", st.AgentID, "frameworks", len(st.Frameworks),
		"running_executors", len(a.recovered), "lost_executors", len(gone))
	owned := make(map[string]bool, len(a.recovered))
	for _, e := range a.recovered {
		owned[e.containerID] = true
	}
	for _, e := range gone {
		e.launching = false
		a.executorTerminated(e, &containerizer.Termination{Message: "Executor's container was not found after the agent restarted"})
	}
	// Image containers of executors that did not survive go, as the
	// containerizer's orphans did; those of recovered executors stay.
	a.removeImageOrphans(ctx, owned)
	return nil
}

// recoverExecutorLocked rebuilds one executor and its tasks.
func (a *Agent) recoverExecutorLocked(f *framework, ex *checkpoint.ExecutorState, run *checkpoint.RunState) *executor {
	e := &executor{
		id:          ex.ID,
		fw:          f,
		info:        ex.Info,
		kind:        kindOfRecovered(ex.Info),
		containerID: run.ContainerID,
		directory:   a.layout.RunDir(a.agentID, f.id, ex.ID, run.ContainerID),
		state:       execRegistering,
		recovered:   true,
		pid:         run.Pid,
		tasks:       make(map[string]*task),
		token:       newToken(),
	}
	f.executors[e.id] = e
	for _, ts := range run.Tasks {
		t := &task{t: ts.Info}
		rep, err := a.sum.Recover(f.id, ts.ID, ts.UpdatesPath)
		if err != nil {
			a.log.Warn("recover status updates", "task", ts.ID, "error", err)
		}
		if rep != nil {
			for _, u := range rep.Updates {
				s := proto.Clone(u.GetStatus()).(*mesospb.TaskStatus)
				s.Data = nil
				t.t.State = s.GetState().Enum()
				t.t.Statuses = append(t.t.Statuses, s)
			}
			if rep.Closed {
				e.addFinished(t.t)
				continue
			}
		}
		e.tasks[ts.ID] = t
	}
	if _, err := os.Stat(e.directory); err == nil {
		_ = a.files.Attach(e.directory, e.directory)
		_ = a.files.Attach(e.directory, sandbox.VirtualLatestRun(f.id, e.id))
	}
	return e
}

// startRecoveredExecutors watches the re-attached executors and gives them
// the re-registration timeout to subscribe again.
func (a *Agent) startRecoveredExecutors() {
	a.mu.Lock()
	recovered := a.recovered
	a.recovered = nil
	for _, e := range recovered {
		e.regTimer = time.AfterFunc(a.cfg.ExecutorReregistrationTimeout, func() { a.registrationTimeout(e, true) })
		if e.directory != "" {
			a.logs.Add(e.directory)
		}
	}
	a.mu.Unlock()
	for _, e := range recovered {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.watch(a.runCtx, e)
		}()
	}
}
