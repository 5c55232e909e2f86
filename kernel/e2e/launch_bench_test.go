package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"strata/kernel/agent"
	"strata/kernel/agent/podmancz"
	"strata/kernel/containerizer/podman/podmantest"
	"strata/kernel/master"
	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/schedulerpb"
	"strata/kernel/scheduler"
)

// launcher is a framework that launches queued tasks on the next offer and records, per task, the
// time from sending the ACCEPT to receiving TASK_RUNNING.
type launcher struct {
	scheduler.NopHandler
	client *scheduler.Client
	cmd    string
	// image, if set, runs the tasks as image containers (DOCKER) of it.
	image string
	// sequential launches the next task only once the previous one is RUNNING.
	sequential bool
	total      int

	mu       sync.Mutex
	next     int
	inflight int
	sent     map[string]time.Time
	running  []time.Duration
	done     chan struct{}
	// A breakdown of running, from the timestamps the executor puts in its
	// updates (same host, same clock): ACCEPT → the executor's TASK_STARTING
	// (master, agent, executor start), and the executor's TASK_RUNNING → its
	// arrival here (forwarding, after the STARTING acknowledgement).
	toStarting, runningFwd []time.Duration
}

func (l *launcher) task(i int, agent *mesospb.AgentID) *mesospb.TaskInfo {
	id := fmt.Sprintf("t%04d", i)
	return &mesospb.TaskInfo{
		Name: proto.String(id), TaskId: &mesospb.TaskID{Value: proto.String(id)}, AgentId: agent,
		Resources: []*mesospb.Resource{
			{Name: proto.String("cpus"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(0.01)}},
			{Name: proto.String("mem"), Type: mesospb.Value_SCALAR.Enum(), Scalar: &mesospb.Value_Scalar{Value: proto.Float64(1)}},
		},
		Command:   &mesospb.CommandInfo{Value: proto.String(l.cmd)},
		Container: l.container(),
	}
}

// container is the ContainerInfo of the tasks: none, or DOCKER with the image.
func (l *launcher) container() *mesospb.ContainerInfo {
	if l.image == "" {
		return nil
	}
	return &mesospb.ContainerInfo{
		Type:   mesospb.ContainerInfo_DOCKER.Enum(),
		Docker: &mesospb.ContainerInfo_DockerInfo{Image: proto.String(l.image)},
	}
}

func (l *launcher) Offers(ctx context.Context, ev *schedulerpb.Event_Offers) error {
	for _, o := range ev.GetOffers() {
		l.mu.Lock()
		var tasks []*mesospb.TaskInfo
		for l.next < l.total && (!l.sequential || l.inflight == 0) {
			tasks = append(tasks, l.task(l.next, o.GetAgentId()))
			l.next++
			l.inflight++
		}
		now := time.Now()
		for _, t := range tasks {
			l.sent[t.GetTaskId().GetValue()] = now
		}
		l.mu.Unlock()
		if len(tasks) == 0 {
			if err := l.client.Decline(ctx, []*mesospb.OfferID{o.GetId()}, &mesospb.Filters{RefuseSeconds: proto.Float64(0)}); err != nil {
				return err
			}
			continue
		}
		if err := l.client.Launch(ctx, []*mesospb.OfferID{o.GetId()}, tasks, &mesospb.Filters{RefuseSeconds: proto.Float64(0)}); err != nil {
			return err
		}
	}
	return nil
}

func (l *launcher) Update(ctx context.Context, ev *schedulerpb.Event_Update) error {
	st := ev.GetStatus()
	l.mu.Lock()
	defer l.mu.Unlock()
	id := st.GetTaskId().GetValue()
	stamp := time.Unix(0, int64(st.GetTimestamp()*1e9))
	switch st.GetState() {
	case mesospb.TaskState_TASK_STARTING:
		if t, ok := l.sent[id]; ok && st.Timestamp != nil {
			l.toStarting = append(l.toStarting, stamp.Sub(t))
		}
	case mesospb.TaskState_TASK_RUNNING:
		if t, ok := l.sent[id]; ok {
			l.running = append(l.running, time.Since(t))
			if st.Timestamp != nil {
				l.runningFwd = append(l.runningFwd, time.Since(stamp))
			}
			delete(l.sent, id)
			l.inflight--
			if len(l.running) == l.total {
				close(l.done)
			}
		}
	case mesospb.TaskState_TASK_FAILED, mesospb.TaskState_TASK_ERROR, mesospb.TaskState_TASK_LOST, mesospb.TaskState_TASK_DROPPED:
		return fmt.Errorf("task %s: %s %s", id, st.GetState(), st.GetMessage())
	}
	return nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// launchCluster runs an in-process master and agent configured as `strata agent` runs by
// default; executors are real `strata executor` processes.
func launchCluster(b *testing.B) string {
	ctx, cancel := context.WithCancel(context.Background())
	workDir := b.TempDir()
	// Image containers as `strata agent` has them by default: its own podman service.
	images, err := podmancz.New(podmancz.Config{Mode: podmancz.ModeAuto, WorkDir: workDir})
	if err != nil {
		b.Fatal(err)
	}
	m, err := master.New(master.Config{IP: "127.0.0.1", WorkDir: b.TempDir()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ready := make(chan string, 1)
	masterDone := make(chan struct{})
	go func() { defer close(masterDone); m.Serve(ctx, ready) }()
	masterAddr := <-ready
	a, err := agent.New(agent.Config{
		WorkDir: workDir, IP: "127.0.0.1", Hostname: "127.0.0.1", Port: 0, Master: masterAddr,
		Resources: "cpus:16;mem:16384;disk:10000;ports:[31000-32000]", Executable: strataBin, KillTasksOnExit: true,
		StandbyExecutors: standbyExecutors(), Isolation: os.Getenv("STRATA_ISOLATION"), Images: images,
	})
	if err != nil {
		b.Fatal(err)
	}
	agentDone := make(chan struct{})
	go func() { defer close(agentDone); a.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-agentDone; <-masterDone })
	<-a.Ready()
	return masterAddr
}

// launchTimes are the results of runLaunches.
type launchTimes struct {
	running, toStarting, runningFwd []time.Duration
	cpu                             time.Duration
	// burstForks is the burst's floor (forkExecBurst), for the Burst benchmark.
	burstForks []time.Duration
}

// runLaunches launches n tasks through a new framework and returns their LAUNCH → RUNNING times
// (with a breakdown) and the CPU their processes (executors and commands) used, per task.
func runLaunches(b *testing.B, masterAddr string, n int, sequential bool) launchTimes {
	return runImageLaunches(b, masterAddr, n, sequential, "")
}

// runImageLaunches is runLaunches with the tasks in containers of image ("": none).
func runImageLaunches(b *testing.B, masterAddr string, n int, sequential bool, image string) launchTimes {
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &before)
	l := &launcher{cmd: "sleep 0.2", image: image, sequential: sequential, total: n, sent: map[string]time.Time{}, done: make(chan struct{})}
	c, err := scheduler.New(scheduler.Config{
		Masters:         []string{masterAddr},
		FrameworkInfo:   &mesospb.FrameworkInfo{User: proto.String("root"), Name: proto.String("launch-bench"), FailoverTimeout: proto.Float64(0)},
		AutoAcknowledge: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	l.client = c
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan struct{})
	go func() { defer close(runDone); c.Run(ctx, l) }()
	select {
	case <-l.done:
	case <-time.After(3 * time.Minute):
		b.Fatalf("only %d of %d tasks reached RUNNING", len(l.running), n)
	}
	_ = c.Teardown(context.Background())
	cancel()
	<-runDone
	// Let the executors exit so that their CPU time is counted.
	time.Sleep(time.Second)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	l.mu.Lock()
	defer l.mu.Unlock()
	return launchTimes{running: l.running, toStarting: l.toStarting, runningFwd: l.runningFwd, cpu: cpu / time.Duration(n)}
}

// forkExec measures fork/exec/wait of /bin/true n times: the floor of any process launch.
func forkExec(b *testing.B, n int) []time.Duration {
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := exec.Command("/bin/true").Run(); err != nil {
			b.Fatal(err)
		}
		out = append(out, time.Since(start))
	}
	return out
}

// forkExecBurst starts n copies of the benchmark's task command (/bin/sh -c "sleep 0.2") at once
// from n goroutines and returns, per process, the time from the common start until its exec
// succeeded: the floor of a burst of launches on this machine, with no master, agent or executor.
func forkExecBurst(b *testing.B, n int) []time.Duration {
	out := make([]time.Duration, n)
	cmds := make([]*exec.Cmd, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := exec.Command("/bin/sh", "-c", "sleep 0.2")
			if err := c.Start(); err != nil {
				errs <- err
				return
			}
			out[i] = time.Since(start)
			cmds[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for _, c := range cmds {
		_ = c.Wait()
	}
	return out
}

func reportLaunch(b *testing.B, all launchTimes, forks []time.Duration) {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(all.running, 0.50)), "p50-ms")
	b.ReportMetric(ms(percentile(all.running, 0.99)), "p99-ms")
	b.ReportMetric(ms(percentile(forks, 0.50)), "fork-p50-ms")
	b.ReportMetric(ms(percentile(forks, 0.99)), "fork-p99-ms")
	if len(all.burstForks) > 0 {
		b.ReportMetric(ms(percentile(all.burstForks, 0.50)), "burst-fork-p50-ms")
		b.ReportMetric(ms(percentile(all.burstForks, 0.99)), "burst-fork-p99-ms")
	}
	b.ReportMetric(ms(all.cpu), "task-cpu-ms")
	b.ReportMetric(ms(percentile(all.toStarting, 0.50)), "to-starting-p50-ms")
	b.ReportMetric(ms(percentile(all.runningFwd, 0.50)), "running-fwd-p50-ms")
}

// add appends the results of one run (the CPU figure is the latest run's).
func (t *launchTimes) add(o launchTimes) {
	t.running = append(t.running, o.running...)
	t.toStarting = append(t.toStarting, o.toStarting...)
	t.runningFwd = append(t.runningFwd, o.runningFwd...)
	t.cpu = o.cpu
}

// BenchmarkLaunchBurst measures LAUNCH → TASK_RUNNING for a burst of 100 short tasks launched at
// once through the real master, agent and `strata executor` processes, beside fork/exec of
// /bin/true measured in the same run.
func BenchmarkLaunchBurst(b *testing.B) { benchmarkLaunches(b, false) }

// BenchmarkLaunchSequential launches 100 tasks one after another (each once the previous is
// RUNNING): the latency of one launch without queueing behind others.
func BenchmarkLaunchSequential(b *testing.B) { benchmarkLaunches(b, true) }

func benchmarkLaunches(b *testing.B, sequential bool) {
	n := burstSize()
	addr := launchCluster(b)
	var all launchTimes
	var forks []time.Duration
	for i := 0; i < b.N; i++ {
		forks = append(forks, forkExec(b, n)...)
		if !sequential {
			all.burstForks = append(all.burstForks, forkExecBurst(b, n)...)
		}
		all.add(runLaunches(b, addr, n, sequential))
	}
	reportLaunch(b, all, forks)
}

// The agent isolates as `strata agent` does by default, or as $STRATA_ISOLATION says (the
// --isolation syntax) for experiments.

// standbyExecutors is the agent's default (that of `strata agent`), or $STRATA_STANDBY_EXECUTORS
// for experiments.
func standbyExecutors() int {
	n := agent.DefaultStandbyExecutors
	if v := os.Getenv("STRATA_STANDBY_EXECUTORS"); v != "" {
		fmt.Sscan(v, &n)
	}
	return n
}

// burstSize is 100, or $STRATA_BURST for experiments.
func burstSize() int {
	n := 100
	if v := os.Getenv("STRATA_BURST"); v != "" {
		fmt.Sscan(v, &n)
	}
	return n
}

// BenchmarkLaunchImageSequential launches tasks one after another as image containers (DOCKER,
// the local busybox test image) through podman: LAUNCH → TASK_RUNNING beside the floors measured
// in the same run, fork/exec of /bin/true and `runc run` of the same image running true.
func BenchmarkLaunchImageSequential(b *testing.B) {
	podman := podmantest.Require(b)
	image := podmantest.BusyboxImage(b)
	n := min(burstSize(), 30)
	addr := launchCluster(b)
	bundle := runcBundle(b, podman, image, []string{"/bin/true"})
	var all launchTimes
	var forks, runcs []time.Duration
	for i := 0; i < b.N; i++ {
		forks = append(forks, forkExec(b, n)...)
		runcs = append(runcs, runcRun(b, bundle, n)...)
		all.add(runImageLaunches(b, addr, n, true, image))
	}
	reportLaunch(b, all, forks)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(percentile(runcs, 0.50)), "runc-run-p50-ms")
	b.ReportMetric(ms(percentile(runcs, 0.99)), "runc-run-p99-ms")
}
