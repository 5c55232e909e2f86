package podman

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestContainersConf(t *testing.T) {
	conf := containersConf([]Ulimit{{"nofile", 100, 200}, {"nproc", 300, 300}})
	for _, want := range []string{
		"[containers]\n",
		`default_ulimits = ["nofile=100:200", "nproc=300:300"]` + "\n",
		`log_driver = "k8s-file"`,
		"pids_limit = 0\n",
		"[engine]\n",
		`runtime = "runc"`,
		`cgroup_manager = "cgroupfs"`,
		`events_logger = "file"`,
		"exit_command_delay = 10\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("containers.conf lacks %q:\n%s", want, conf)
		}
	}
}

func TestDefaultUlimitsFitThisProcess(t *testing.T) {
	var nofile, nproc unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		t.Fatal(err)
	}
	if err := unix.Getrlimit(unix.RLIMIT_NPROC, &nproc); err != nil {
		t.Fatal(err)
	}
	got := map[string]Ulimit{}
	for _, u := range DefaultUlimits() {
		got[u.Name] = u
	}
	for name, max := range map[string]uint64{"nofile": nofile.Max, "nproc": nproc.Max} {
		u, ok := got[name]
		if !ok {
			t.Fatalf("DefaultUlimits() lacks %s: %v", name, got)
		}
		if u.Soft != u.Hard || u.Hard == 0 || u.Hard > max {
			t.Errorf("%s = %d:%d, want equal soft and hard within our hard limit %d", name, u.Soft, u.Hard, max)
		}
	}
	if got["nofile"].Hard > podmanNofileMax {
		t.Errorf("nofile %d above podman's %d", got["nofile"].Hard, podmanNofileMax)
	}
}

func TestProcessLimits(t *testing.T) {
	nofile, nproc, err := processLimits(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	var want unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &want); err != nil {
		t.Fatal(err)
	}
	if nofile != want.Max {
		t.Errorf("nofile %d, want %d", nofile, want.Max)
	}
	if nproc == 0 {
		t.Error("nproc is 0")
	}
	if _, _, err := processLimits(-1); err == nil {
		t.Error("processLimits(-1) succeeded")
	}
}

func TestFitUlimits(t *testing.T) {
	tests := []struct {
		name        string
		in          []Ulimit
		nofile      uint64
		nproc       uint64
		want        []Ulimit
		wantChanged bool
	}{
		{"fits", []Ulimit{{"nofile", 10, 10}, {"nproc", 5, 5}}, 10, 5,
			[]Ulimit{{"nofile", 10, 10}, {"nproc", 5, 5}}, false},
		{"lowers both", []Ulimit{{"nofile", 100, 100}, {"nproc", 50, 50}}, 10, 5,
			[]Ulimit{{"nofile", 10, 10}, {"nproc", 5, 5}}, true},
		{"soft follows hard", []Ulimit{{"nofile", 8, 100}}, 4, 5,
			[]Ulimit{{"nofile", 4, 4}}, true},
		{"others untouched", []Ulimit{{"core", 100, 100}}, 1, 1,
			[]Ulimit{{"core", 100, 100}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := fitUlimits(tt.in, tt.nofile, tt.nproc)
			if !reflect.DeepEqual(got, tt.want) || changed != tt.wantChanged {
				t.Errorf("fitUlimits = %v, %v; want %v, %v", got, changed, tt.want, tt.wantChanged)
			}
		})
	}
}

func TestIsServiceCmdline(t *testing.T) {
	sock := "/w/podman/podman.sock"
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"/usr/bin/podman", "system", "service", "--time=0", "unix://" + sock}, true},
		{[]string{"podman", "system", "service", "--time=0", "unix:///other.sock"}, false},
		{[]string{"/usr/bin/sleep", "system", "service", "unix://" + sock}, false},
		{[]string{"podman"}, false},
	}
	for _, tt := range tests {
		if got := isServiceCmdline(tt.args, sock); got != tt.want {
			t.Errorf("isServiceCmdline(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}

func TestReadOOMControl(t *testing.T) {
	dir := t.TempDir()
	content := "oom_kill_disable 0\nunder_oom 1\noom_kill 3\n"
	if err := os.WriteFile(dir+"/memory.oom_control", []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	kills, under, err := readOOMControl(dir)
	if err != nil || kills != 3 || !under {
		t.Fatalf("readOOMControl = %d, %v, %v; want 3, true, nil", kills, under, err)
	}
	if _, _, err := readOOMControl(dir + "/missing"); err == nil {
		t.Fatal("readOOMControl of a missing cgroup succeeded")
	}
}
