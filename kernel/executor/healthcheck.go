package executor

import (
	"fmt"

	"strata/kernel/executor/health"
	"strata/kernel/mesos/mesospb"
)

// healthCheck converts a task's HealthCheck into a health.Check with the
// Mesos defaults applied. Commands run in dir and write to the executor's
// stderr through out (set by the caller).
func healthCheck(hc *mesospb.HealthCheck, dir string) (health.Check, error) {
	var c health.Check
	typ := hc.GetType()
	if typ == mesospb.HealthCheck_UNKNOWN {
		// Health checks from before the type field existed were commands.
		switch {
		case hc.GetCommand() != nil:
			typ = mesospb.HealthCheck_COMMAND
		case hc.GetHttp() != nil:
			typ = mesospb.HealthCheck_HTTP
		case hc.GetTcp() != nil:
			typ = mesospb.HealthCheck_TCP
		}
	}
	switch typ {
	case mesospb.HealthCheck_COMMAND:
		cmd := hc.GetCommand()
		if cmd == nil {
			return c, fmt.Errorf("COMMAND health check without a command")
		}
		c.Type = health.Command
		c.Shell = cmd.GetShell()
		c.Command = cmd.GetValue()
		if !c.Shell {
			c.Args = append([]string(nil), cmd.GetArguments()...)
		}
		for _, v := range cmd.GetEnvironment().GetVariables() {
			if v.GetType() != mesospb.Environment_Variable_SECRET && v.GetName() != "" {
				c.Env = append(c.Env, v.GetName()+"="+v.GetValue())
			}
		}
		c.Dir = dir
	case mesospb.HealthCheck_HTTP:
		h := hc.GetHttp()
		if h == nil {
			return c, fmt.Errorf("HTTP health check without http")
		}
		c.Type = health.HTTP
		c.HTTPScheme = h.GetScheme()
		c.HTTPPath = h.GetPath()
		c.Statuses = append([]uint32(nil), h.GetStatuses()...)
		c.Port = h.GetPort()
	case mesospb.HealthCheck_TCP:
		t := hc.GetTcp()
		if t == nil {
			return c, fmt.Errorf("TCP health check without tcp")
		}
		c.Type = health.TCP
		c.Port = t.GetPort()
	default:
		return c, fmt.Errorf("unsupported health check type %v", hc.GetType())
	}

	if hc.DelaySeconds != nil {
		c.Delay = health.Seconds(hc.GetDelaySeconds())
		c.Explicit |= health.FieldDelay
	}
	if hc.IntervalSeconds != nil {
		c.Interval = health.Seconds(hc.GetIntervalSeconds())
		c.Explicit |= health.FieldInterval
	}
	if hc.TimeoutSeconds != nil {
		c.Timeout = health.Seconds(hc.GetTimeoutSeconds())
		c.Explicit |= health.FieldTimeout
	}
	if hc.GracePeriodSeconds != nil {
		c.GracePeriod = health.Seconds(hc.GetGracePeriodSeconds())
		c.Explicit |= health.FieldGracePeriod
	}
	if hc.ConsecutiveFailures != nil {
		c.ConsecutiveFailures = hc.GetConsecutiveFailures()
		c.Explicit |= health.FieldConsecutiveFailures
	}
	c = c.Defaults()
	if err := c.Validate(); err != nil {
		return c, err
	}
	return c, nil
}

// startHealthCheck starts checking the running task, if it has a health
// check. A check that cannot be created is logged and skipped, as Mesos
// does.
func (e *executor) startHealthCheck(t *task) {
	hc := t.info.GetHealthCheck()
	if hc == nil {
		return
	}
	check, err := healthCheck(hc, t.dir)
	if err != nil {
		e.log.Error("Failed to create health checker", "task", t.id(), "err", err)
		return
	}
	if c := t.ctr; c != nil {
		// The check runs inside the container (podman exec), and HTTP and
		// TCP checks reach it on its IP on a bridge network.
		client, _ := c.leftover()
		check.Runner = containerRunner{client: client, c: c}
		check.Host = c.checkHost()
	}
	if check.Type == health.Command {
		check.Output = e.cfg.Stderr
		if t.group != nil && t.ctr == nil {
			// The check runs in the task's sandbox, as the task does (a
			// container's MESOS_SANDBOX is already its sandbox mount).
			check.Env = append([]string{EnvSandbox + "=" + t.dir}, check.Env...)
		}
	}
	if p := hc.GetHttp().GetProtocol(); check.Type == health.HTTP && p == mesospb.NetworkInfo_IPv6 {
		e.log.Warn("IPv6 health checks are not supported; checking over IPv4")
	}
	if p := hc.GetTcp().GetProtocol(); check.Type == health.TCP && p == mesospb.NetworkInfo_IPv6 {
		e.log.Warn("IPv6 health checks are not supported; checking over IPv4")
	}
	checker, err := health.New(check, health.Options{
		OnResult: func(healthy bool, failures int, msg string) {
			e.post(func() { e.healthResult(t, healthy, failures, msg) })
		},
		OnKill: func(reason string) {
			e.post(func() { e.healthKill(t, reason) })
		},
		Logger: e.log,
	})
	if err != nil {
		e.log.Error("Failed to create health checker", "task", t.id(), "err", err)
		return
	}
	if err := checker.Start(e.ctx); err != nil {
		e.log.Error("Failed to start health checker", "task", t.id(), "err", err)
		return
	}
	t.checker = checker
}

// healthResult reports a health check result as a TASK_RUNNING update.
func (e *executor) healthResult(t *task, healthy bool, failures int, msg string) {
	if t.killed || t.terminated || t.last == nil || (t.ctr != nil && t.ctr.hasExited()) {
		// A task whose container has exited is ending: its terminal
		// update follows once its output is copied.
		return
	}
	if healthy {
		e.log.Info("Received task health update, healthy: true", "task", t.id())
	} else {
		e.log.Info("Received task health update, healthy: false", "task", t.id(), "consecutive_failures", failures, "error", msg)
	}
	st := restamp(t.last)
	st.Reason = mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED.Enum()
	st.Healthy = &healthy
	e.forward(t, st)
}

// healthKill kills the task after too many consecutive health check failures.
func (e *executor) healthKill(t *task, reason string) {
	if t.killed || t.terminated || (t.ctr != nil && t.ctr.hasExited()) {
		return
	}
	e.log.Info("Killing task " + t.id() + ": " + reason)
	t.killedByHealthCheck = true
	e.killTask(t, e.killGrace(t, nil))
}
