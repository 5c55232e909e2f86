package executor

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/mesos/codec"
	"strata/kernel/mesos/executorpb"
	"strata/kernel/mesos/mesospb"
)

const wait = 10 * time.Second

// forCodecs runs f once per wire codec, in parallel.
func forCodecs(t *testing.T, f func(t *testing.T, c codec.Codec)) {
	t.Parallel()
	for _, c := range []codec.Codec{codec.Protobuf, codec.JSON} {
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			f(t, c)
		})
	}
}

func TestTaskFinishes(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		began := time.Now()
		a := newStubAgent(t, c, commandTask("exit 0"))
		// Exiting well before the ack timeout shows that the acknowledgement
		// of the terminal update ended the executor.
		r := startExecutor(t, a, func(cfg *Config) { cfg.AckTimeout = time.Minute })
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}

		seen := map[string]bool{}
		for _, st := range sts {
			u := st.GetUuid()
			if len(u) != 16 || u[6]>>4 != 4 || u[8]&0xc0 != 0x80 {
				t.Errorf("%v: uuid %x is not a v4 UUID", st.GetState(), u)
			}
			if seen[string(u)] {
				t.Errorf("%v: uuid %x reused", st.GetState(), u)
			}
			seen[string(u)] = true
			if st.GetSource() != mesospb.TaskStatus_SOURCE_EXECUTOR {
				t.Errorf("%v: source %v", st.GetState(), st.GetSource())
			}
			if st.GetTaskId().GetValue() != testTaskID || st.GetExecutorId().GetValue() != testTaskID ||
				st.GetAgentId().GetValue() != testAgentID {
				t.Errorf("%v: ids task=%q executor=%q agent=%q", st.GetState(), st.GetTaskId().GetValue(),
					st.GetExecutorId().GetValue(), st.GetAgentId().GetValue())
			}
			ts := time.Unix(0, int64(st.GetTimestamp()*1e9))
			if ts.Before(began.Add(-time.Second)) || ts.After(time.Now().Add(time.Second)) {
				t.Errorf("%v: timestamp %v out of range", st.GetState(), ts)
			}
		}
		cs := sts[1].GetContainerStatus()
		if cs.GetExecutorPid() != uint32(os.Getpid()) {
			t.Errorf("RUNNING executor_pid = %d, want %d", cs.GetExecutorPid(), os.Getpid())
		}
		if cs.GetContainerId().GetValue() != "container-1" {
			t.Errorf("RUNNING container_id = %q", cs.GetContainerId().GetValue())
		}
		if n := cs.GetNetworkInfos(); len(n) != 1 || len(n[0].GetIpAddresses()) != 1 ||
			n[0].GetIpAddresses()[0].GetIpAddress() != "127.0.0.1" ||
			n[0].GetIpAddresses()[0].GetProtocol() != mesospb.NetworkInfo_IPv4 {
			t.Errorf("RUNNING network_infos = %v", n)
		}
		if got := sts[2].GetMessage(); got != "Command exited with status 0" {
			t.Errorf("FINISHED message = %q", got)
		}
		if sts[2].Reason != nil || sts[2].Healthy != nil {
			t.Errorf("FINISHED has reason %v healthy %v", sts[2].GetReason(), sts[2].Healthy)
		}
		a.noMore(100 * time.Millisecond)
	})
}

func TestExitsWithoutAcknowledgement(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask("exit 0"))
		a.setAutoAck(false)
		r := startExecutor(t, a, func(cfg *Config) { cfg.AckTimeout = 400 * time.Millisecond })
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
		finishedAt := time.Now()
		if err := r.wait(t, 5*time.Second); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if d := time.Since(finishedAt); d < 300*time.Millisecond {
			t.Errorf("executor exited %v after the terminal update, before the ack timeout", d)
		}
	})
}

func TestTaskFails(t *testing.T) {
	tests := []struct {
		name, cmd, msg string
	}{
		{"exit 3", "exit 3", "Command exited with status 3"},
		{"signal", "kill -USR1 $$", "Command terminated with signal User defined signal 1"},
	}
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				a := newStubAgent(t, c, commandTask(tt.cmd))
				r := startExecutor(t, a, nil)
				sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FAILED)
				if got := sts[2].GetMessage(); got != tt.msg {
					t.Errorf("FAILED message = %q, want %q", got, tt.msg)
				}
				if err := r.wait(t, wait); err != nil {
					t.Fatalf("Run: %v", err)
				}
			})
		}
	})
}

func TestArgvForm(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		t.Run("arguments exactly as given", func(t *testing.T) {
			t.Parallel()
			task := commandTask("")
			task.Command = &mesospb.CommandInfo{
				Shell:     proto.Bool(false),
				Value:     proto.String("printf"),
				Arguments: []string{"printf", "%s|%s|%s", "a b", "$HOME", "*"},
			}
			a := newStubAgent(t, c, task)
			r := startExecutor(t, a, nil)
			a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
			if err := r.wait(t, wait); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := r.readFile(t, "stdout", time.Second); got != "a b|$HOME|*" {
				t.Errorf("stdout = %q, want %q", got, "a b|$HOME|*")
			}
		})
		t.Run("argv0", func(t *testing.T) {
			t.Parallel()
			task := commandTask("")
			task.Command = &mesospb.CommandInfo{
				Shell:     proto.Bool(false),
				Value:     proto.String("/bin/sh"),
				Arguments: []string{"my-argv0", "-c", `printf %s "$0"`},
			}
			a := newStubAgent(t, c, task)
			r := startExecutor(t, a, nil)
			a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
			if err := r.wait(t, wait); err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := r.readFile(t, "stdout", time.Second); got != "my-argv0" {
				t.Errorf("argv0 = %q, want my-argv0", got)
			}
		})
	})
}

func TestEnvironmentAndSandbox(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		task := commandTask(`printf '%s|%s|%s|%s|%s' "$FOO" "$BASE_VAR" "$OVERRIDE" "${SECRET_VAR-unset}" "$(pwd -P)" > env.out`)
		task.Command.Environment = &mesospb.Environment{Variables: []*mesospb.Environment_Variable{
			{Name: proto.String("FOO"), Value: proto.String("bar baz")},
			{Name: proto.String("OVERRIDE"), Type: mesospb.Environment_Variable_VALUE.Enum(), Value: proto.String("new")},
			{Name: proto.String("SECRET_VAR"), Type: mesospb.Environment_Variable_SECRET.Enum()},
		}}
		a := newStubAgent(t, c, task)
		r := startExecutor(t, a, func(cfg *Config) {
			cfg.Env = append(cfg.Env, "BASE_VAR=base", "OVERRIDE=old")
		})
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		sandbox, err := filepath.EvalSymlinks(r.sandbox)
		if err != nil {
			t.Fatal(err)
		}
		want := "bar baz|base|new|unset|" + sandbox
		if got := r.readFile(t, "env.out", time.Second); got != want {
			t.Errorf("task saw %q, want %q", got, want)
		}
	})
}

// trapScript ignores SIGTERM in the task and in two descendants (one in the
// task's process group, one in a session of its own), writing their pids to
// the file "pids", so that only SIGKILL of the whole tree ends it.
const trapScript = `trap 'echo got-TERM' TERM
(trap '' TERM; exec sleep 100) &
echo $! >> pids
setsid sh -c 'trap "" TERM; sleep 100 & echo $! >> pids; wait' &
echo $$ >> pids
while :; do sleep 0.05; done`

// waitPids waits for the trap script to have written its pids.
func waitPids(t *testing.T, r *execRun) []int {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		b, _ := os.ReadFile(filepath.Join(r.sandbox, "pids"))
		fields := strings.Fields(string(b))
		if len(fields) >= 3 {
			var pids []int
			for _, f := range fields {
				pid, err := strconv.Atoi(f)
				if err != nil {
					t.Fatalf("pids file: %q", b)
				}
				pids = append(pids, pid)
			}
			return pids
		}
		if time.Now().After(deadline) {
			t.Fatalf("pids file has %q after %v", b, wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processGone reports whether pid no longer runs (absent, or a zombie).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return true
	}
	return b[i+2] == 'Z' || b[i+2] == 'X'
}

func checkGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range pids {
		for !processGone(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d of the task's tree is still running", pid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestKillWithGracePeriod(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		const grace = 800 * time.Millisecond
		a := newStubAgent(t, c, commandTask(trapScript))
		r := startExecutor(t, a, nil)
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		pids := waitPids(t, r)

		killedAt := time.Now()
		a.kill(killPolicy(grace))
		sts := a.expect(wait, mesospb.TaskState_TASK_KILLED)
		if d := time.Since(killedAt); d < grace {
			t.Errorf("TASK_KILLED %v after KILL, before the grace period of %v", d, grace)
		}
		if got := sts[0].GetMessage(); got != "Command terminated with signal Killed" {
			t.Errorf("KILLED message = %q", got)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkGone(t, pids)
		if out := r.readFile(t, "stdout", time.Second); !strings.Contains(out, "got-TERM") {
			t.Errorf("the task did not get SIGTERM first; stdout %q", out)
		}
	})
}

func TestSecondKillShortensGrace(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask(trapScript))
		r := startExecutor(t, a, nil)
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		pids := waitPids(t, r)
		killedAt := time.Now()
		a.kill(killPolicy(time.Minute))
		time.Sleep(100 * time.Millisecond)
		a.kill(killPolicy(300 * time.Millisecond))
		a.kill(killPolicy(time.Hour)) // cannot lengthen it again
		a.expect(wait, mesospb.TaskState_TASK_KILLED)
		if d := time.Since(killedAt); d > 5*time.Second {
			t.Errorf("TASK_KILLED only %v after the shortening KILL", d)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkGone(t, pids)
	})
}

func TestKillingState(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		t.Run("with capability", func(t *testing.T) {
			t.Parallel()
			a := newStubAgent(t, c, commandTask("sleep 100"), mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE)
			r := startExecutor(t, a, nil)
			a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
			a.kill(nil)
			sts := a.expect(wait, mesospb.TaskState_TASK_KILLING, mesospb.TaskState_TASK_KILLED)
			if got := sts[1].GetMessage(); got != "Command terminated with signal Terminated" {
				t.Errorf("KILLED message = %q", got)
			}
			if err := r.wait(t, wait); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
		t.Run("without capability, task kill policy", func(t *testing.T) {
			t.Parallel()
			// Longer than the default, so that only the task's policy explains
			// the wait.
			const grace = DefaultKillGracePeriod + time.Second
			task := commandTask(trapScript)
			task.KillPolicy = killPolicy(grace)
			a := newStubAgent(t, c, task, mesospb.FrameworkInfo_Capability_PARTITION_AWARE)
			r := startExecutor(t, a, nil)
			a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
			pids := waitPids(t, r)
			killedAt := time.Now()
			a.kill(nil)
			a.expect(wait, mesospb.TaskState_TASK_KILLED)
			if d := time.Since(killedAt); d < grace {
				t.Errorf("TASK_KILLED %v after KILL, want the task's grace period of %v", d, grace)
			}
			if err := r.wait(t, wait); err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkGone(t, pids)
		})
	})
}

// quickCheck is a command health check that runs at once and every 100 ms.
func quickCheck(cmd string, failures uint32) *mesospb.HealthCheck {
	return &mesospb.HealthCheck{
		Type:                mesospb.HealthCheck_COMMAND.Enum(),
		Command:             &mesospb.CommandInfo{Value: proto.String(cmd)},
		DelaySeconds:        proto.Float64(0),
		IntervalSeconds:     proto.Float64(0.1),
		TimeoutSeconds:      proto.Float64(5),
		GracePeriodSeconds:  proto.Float64(0),
		ConsecutiveFailures: proto.Uint32(failures),
	}
}

func TestHealthCheckFailureKillsTask(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		task := commandTask("sleep 100")
		task.HealthCheck = quickCheck("exit 1", 2)
		a := newStubAgent(t, c, task)
		r := startExecutor(t, a, nil)
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING,
			mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_KILLED)
		for _, st := range sts[2:4] {
			if st.Healthy == nil || st.GetHealthy() {
				t.Errorf("health update healthy = %v, want false", st.Healthy)
			}
			if st.GetReason() != mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED || st.Reason == nil {
				t.Errorf("health update reason = %v", st.GetReason())
			}
			if st.GetContainerStatus().GetExecutorPid() == 0 {
				t.Errorf("health update lost the container status of TASK_RUNNING")
			}
			if bytes.Equal(st.GetUuid(), sts[1].GetUuid()) {
				t.Errorf("health update reuses the uuid of TASK_RUNNING")
			}
		}
		killed := sts[4]
		if killed.Healthy == nil || killed.GetHealthy() {
			t.Errorf("TASK_KILLED healthy = %v, want false", killed.Healthy)
		}
		if got := killed.GetMessage(); got != "Command terminated with signal Terminated" {
			t.Errorf("KILLED message = %q", got)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		a.noMore(200 * time.Millisecond)
	})
}

func TestHealthCheckHealthyReportedOnce(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		// The task outlives the first check by a second, whatever the load.
		task := commandTask("while [ ! -e checked ]; do sleep 0.05; done; sleep 1")
		task.HealthCheck = quickCheck("touch checked", 3)
		a := newStubAgent(t, c, task)
		r := startExecutor(t, a, nil)
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING,
			mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
		if h := sts[2]; h.Healthy == nil || !h.GetHealthy() || h.GetReason() != mesospb.TaskStatus_REASON_TASK_HEALTH_CHECK_STATUS_UPDATED {
			t.Errorf("health update healthy=%v reason=%v", h.Healthy, h.GetReason())
		}
		if sts[3].Healthy != nil {
			t.Errorf("TASK_FINISHED carries healthy=%v", sts[3].GetHealthy())
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestMaxCompletionTime(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		task := commandTask("sleep 100")
		task.MaxCompletionTime = &mesospb.DurationInfo{Nanoseconds: proto.Int64(int64(300 * time.Millisecond))}
		a := newStubAgent(t, c, task, mesospb.FrameworkInfo_Capability_TASK_KILLING_STATE)
		began := time.Now()
		r := startExecutor(t, a, nil)
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FAILED)
		if d := time.Since(began); d < 300*time.Millisecond {
			t.Errorf("TASK_FAILED after %v, before the max completion time", d)
		}
		failed := sts[2]
		if failed.GetReason() != mesospb.TaskStatus_REASON_MAX_COMPLETION_TIME_REACHED {
			t.Errorf("reason = %v", failed.GetReason())
		}
		if got := failed.GetMessage(); got != "Command terminated with signal Killed" {
			t.Errorf("message = %q", got)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		a.noMore(100 * time.Millisecond) // in particular no TASK_KILLING
	})
}

func TestShutdown(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask(trapScript))
		const grace = 600 * time.Millisecond
		r := startExecutor(t, a, func(cfg *Config) { cfg.ShutdownGracePeriod = ShutdownBuffer + grace })
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		pids := waitPids(t, r)
		at := time.Now()
		a.send(&executorpb.Event{Type: executorpb.Event_SHUTDOWN.Enum()})
		a.expect(wait, mesospb.TaskState_TASK_KILLED)
		if d := time.Since(at); d < grace {
			t.Errorf("TASK_KILLED %v after SHUTDOWN, before the grace period of %v", d, grace)
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		checkGone(t, pids)
	})
}

func TestCancelShutsDown(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask("sleep 100"))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		r := startExecutorCtx(t, ctx, a, nil)
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		cancel()
		a.expect(wait, mesospb.TaskState_TASK_KILLED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestResubscribeSendsUnacknowledged(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask("sleep 100"))
		a.setAutoAck(false)
		r := startExecutor(t, a, func(cfg *Config) {
			cfg.Checkpoint = true
			cfg.RecoveryTimeout = 20 * time.Second
			cfg.SubscriptionBackoffMax = 200 * time.Millisecond
		})
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		a.dropStream()
		subs := a.waitSubscribes(2, wait)
		if n := len(subs[0].GetSubscribe().GetUnacknowledgedUpdates()); n != 0 {
			t.Errorf("first SUBSCRIBE has %d unacknowledged updates", n)
		}
		sub := subs[1].GetSubscribe()
		var got [][]byte
		for _, u := range sub.GetUnacknowledgedUpdates() {
			got = append(got, u.GetStatus().GetUuid())
		}
		if len(got) != 2 || !bytes.Equal(got[0], sts[0].GetUuid()) || !bytes.Equal(got[1], sts[1].GetUuid()) {
			t.Errorf("resubscription unacknowledged updates %x, want STARTING %x and RUNNING %x", got, sts[0].GetUuid(), sts[1].GetUuid())
		}
		if tasks := sub.GetUnacknowledgedTasks(); len(tasks) != 1 || tasks[0].GetTaskId().GetValue() != testTaskID {
			t.Errorf("resubscription unacknowledged tasks = %v", tasks)
		}

		a.ack(sts[0])
		a.ack(sts[1])
		a.setAutoAck(true)
		a.kill(nil)
		a.expect(wait, mesospb.TaskState_TASK_KILLED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestDisconnectWithoutCheckpointKillsTask(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask("echo $$ > task.pid; exec sleep 100"))
		r := startExecutor(t, a, nil)
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		pid, err := strconv.Atoi(strings.TrimSpace(r.readFile(t, "task.pid", wait)))
		if err != nil {
			t.Fatal(err)
		}
		a.dropStream()
		err = r.wait(t, wait)
		if err == nil || !strings.Contains(err.Error(), "does not checkpoint") {
			t.Fatalf("Run: %v, want a disconnection error", err)
		}
		checkGone(t, []int{pid})
		if subs := a.waitSubscribes(1, time.Second); len(subs) != 1 {
			t.Errorf("%d SUBSCRIBE calls, want no resubscription", len(subs))
		}
	})
}

func TestRecoveryTimeout(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask("echo $$ > task.pid; exec sleep 100"))
		r := startExecutor(t, a, func(cfg *Config) {
			cfg.Checkpoint = true
			cfg.RecoveryTimeout = time.Second
			cfg.SubscriptionBackoffMax = 100 * time.Millisecond
		})
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		pid, err := strconv.Atoi(strings.TrimSpace(r.readFile(t, "task.pid", wait)))
		if err != nil {
			t.Fatal(err)
		}
		a.srv.CloseClientConnections()
		a.srv.Close() // the agent is gone for good
		err = r.wait(t, wait)
		if err == nil || !strings.Contains(err.Error(), "recovery timeout") {
			t.Fatalf("Run: %v, want a recovery timeout", err)
		}
		checkGone(t, []int{pid})
	})
}

func TestRegistrationTimeout(t *testing.T) {
	t.Parallel()
	a := newStubAgent(t, codec.Protobuf, nil)
	endpoint := a.endpoint()
	a.srv.Close() // nothing listens there any more
	r := startExecutor(t, a, func(cfg *Config) {
		cfg.AgentEndpoint = endpoint
		cfg.RegistrationTimeout = 500 * time.Millisecond
	})
	err := r.wait(t, wait)
	if err == nil || !strings.Contains(err.Error(), "could not subscribe") {
		t.Fatalf("Run: %v, want a subscription error", err)
	}
}

func TestLaunchFailure(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		task := commandTask("")
		task.Command = &mesospb.CommandInfo{Shell: proto.Bool(false), Value: proto.String("/nonexistent/program")}
		a := newStubAgent(t, c, task)
		r := startExecutor(t, a, nil)
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_FAILED)
		if !strings.Contains(sts[1].GetMessage(), "Failed to launch task") || sts[1].Reason == nil ||
			sts[1].GetReason() != mesospb.TaskStatus_REASON_COMMAND_EXECUTOR_FAILED {
			t.Errorf("FAILED message %q reason %v", sts[1].GetMessage(), sts[1].GetReason())
		}
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestTaskUser(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		t.Run("unknown user", func(t *testing.T) {
			t.Parallel()
			task := commandTask("exit 0")
			task.Command.User = proto.String("strata-no-such-user")
			a := newStubAgent(t, c, task)
			r := startExecutor(t, a, nil)
			if os.Geteuid() == 0 {
				sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_FAILED)
				if msg := sts[1].GetMessage(); !strings.Contains(msg, "user 'strata-no-such-user' does not exist") {
					t.Errorf("FAILED message = %q", msg)
				}
			} else {
				// Without root the user cannot be switched; the task runs as ours.
				a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
			}
			if err := r.wait(t, wait); err != nil {
				t.Fatalf("Run: %v", err)
			}
		})
		t.Run("framework user", func(t *testing.T) {
			t.Parallel()
			a := newStubAgent(t, c, commandTask("id -u"))
			a.framework.User = proto.String("nobody")
			r := startExecutor(t, a, func(cfg *Config) {
				// The task's user must be able to enter its sandbox.
				for _, dir := range []string{cfg.Sandbox, filepath.Dir(cfg.Sandbox)} {
					if err := os.Chmod(dir, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			})
			a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING, mesospb.TaskState_TASK_FINISHED)
			if err := r.wait(t, wait); err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := strconv.Itoa(os.Getuid())
			if os.Geteuid() == 0 {
				want = "65534" // nobody
			}
			if got := strings.TrimSpace(r.readFile(t, "stdout", time.Second)); got != want {
				t.Errorf("task ran as uid %s, want %s", got, want)
			}
		})
	})
}

func TestSecondLaunchFails(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask("sleep 100"))
		r := startExecutor(t, a, nil)
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		other := commandTask("exit 0")
		other.TaskId = &mesospb.TaskID{Value: proto.String("task-2")}
		a.send(&executorpb.Event{Type: executorpb.Event_LAUNCH.Enum(), Launch: &executorpb.Event_Launch{Task: other}})
		sts := a.expect(wait, mesospb.TaskState_TASK_FAILED)
		if sts[0].GetTaskId().GetValue() != "task-2" || !strings.Contains(sts[0].GetMessage(), "multiple tasks") {
			t.Errorf("second launch: task %q message %q", sts[0].GetTaskId().GetValue(), sts[0].GetMessage())
		}
		a.kill(nil)
		a.expect(wait, mesospb.TaskState_TASK_KILLED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestIgnoredEvents(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, commandTask("sleep 0.5"))
		r := startExecutor(t, a, nil)
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		a.send(&executorpb.Event{Type: executorpb.Event_MESSAGE.Enum(), Message: &executorpb.Event_Message{Data: []byte("hello")}})
		a.send(&executorpb.Event{Type: executorpb.Event_HEARTBEAT.Enum()})
		a.send(&executorpb.Event{Type: executorpb.Event_ERROR.Enum(), Error: &executorpb.Event_Error{Message: proto.String("oops")}})
		a.send(&executorpb.Event{
			Type:         executorpb.Event_ACKNOWLEDGED.Enum(),
			Acknowledged: &executorpb.Event_Acknowledged{TaskId: &mesospb.TaskID{Value: proto.String(testTaskID)}, Uuid: newUUID()},
		})
		a.expect(wait, mesospb.TaskState_TASK_FINISHED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestKillBeforeLaunchExits(t *testing.T) {
	forCodecs(t, func(t *testing.T, c codec.Codec) {
		a := newStubAgent(t, c, nil)
		r := startExecutor(t, a, nil)
		a.waitSubscribes(1, wait)
		a.kill(nil)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		a.noMore(100 * time.Millisecond)
	})
}

func TestLaunchGroupShutsDown(t *testing.T) {
	t.Parallel()
	a := newStubAgent(t, codec.JSON, nil)
	r := startExecutor(t, a, nil)
	a.waitSubscribes(1, wait)
	a.send(&executorpb.Event{
		Type:        executorpb.Event_LAUNCH_GROUP.Enum(),
		LaunchGroup: &executorpb.Event_LaunchGroup{TaskGroup: &mesospb.TaskGroupInfo{}},
	})
	if err := r.wait(t, wait); err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// Launched is called once: when the agent has acknowledged TASK_RUNNING (or
// the terminal update of a task that never ran), else when Run returns.
func TestLaunchedHook(t *testing.T) {
	t.Parallel()
	hook := func(calls chan<- struct{}) func(*Config) {
		return func(cfg *Config) { cfg.Launched = func() { calls <- struct{}{} } }
	}
	expectCalls := func(t *testing.T, calls chan struct{}, n int) {
		t.Helper()
		for i := 0; i < n; i++ {
			select {
			case <-calls:
			case <-time.After(wait):
				t.Fatalf("Launched called %d times, want %d", i, n)
			}
		}
		select {
		case <-calls:
			t.Fatal("Launched called again")
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Run("running", func(t *testing.T) {
		t.Parallel()
		calls := make(chan struct{}, 4)
		a := newStubAgent(t, codec.Protobuf, commandTask("sleep 30"))
		a.setAutoAck(false)
		r := startExecutor(t, a, hook(calls))
		sts := a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_RUNNING)
		a.ack(sts[0])
		select {
		case <-calls:
			t.Fatal("Launched called before TASK_RUNNING was acknowledged")
		case <-time.After(200 * time.Millisecond):
		}
		a.ack(sts[1])
		expectCalls(t, calls, 1)
		a.setAutoAck(true)
		a.kill(killPolicy(0))
		a.expect(wait, mesospb.TaskState_TASK_KILLED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		expectCalls(t, calls, 0)
	})
	t.Run("launch failed", func(t *testing.T) {
		t.Parallel()
		calls := make(chan struct{}, 4)
		task := commandTask("")
		task.Command = &mesospb.CommandInfo{Shell: proto.Bool(false), Value: proto.String("/nonexistent/program")}
		a := newStubAgent(t, codec.Protobuf, task)
		r := startExecutor(t, a, hook(calls))
		a.expect(wait, mesospb.TaskState_TASK_STARTING, mesospb.TaskState_TASK_FAILED)
		if err := r.wait(t, wait); err != nil {
			t.Fatalf("Run: %v", err)
		}
		expectCalls(t, calls, 1)
	})
	t.Run("never subscribed", func(t *testing.T) {
		t.Parallel()
		calls := make(chan struct{}, 4)
		a := newStubAgent(t, codec.Protobuf, nil)
		endpoint := a.endpoint()
		a.srv.Close()
		r := startExecutor(t, a, func(cfg *Config) {
			hook(calls)(cfg)
			cfg.AgentEndpoint = endpoint
			cfg.RegistrationTimeout = 300 * time.Millisecond
		})
		if err := r.wait(t, wait); err == nil {
			t.Fatal("Run succeeded without an agent")
		}
		expectCalls(t, calls, 1)
	})
}
