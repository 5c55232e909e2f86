package cgroups

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeHost lays out mount point directories under a temp dir and returns a
// mountinfo text naming them. Each mount is "<dir> <fstype> <mount opts>
// <super opts>"; "$" in dir is the temp dir.
func fakeHost(t *testing.T, controllers string, mounts ...string) (string, string) {
	t.Helper()
	base := t.TempDir()
	var b strings.Builder
	b.WriteString("22 1 259:1 / / rw,relatime - ext4 /dev/root rw\n")
	for i, m := range mounts {
		f := strings.Fields(strings.ReplaceAll(m, "$", base))
		dir := unescapeMount(f[0])
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if f[1] == "cgroup2" {
			writeFiles(t, dir, map[string]string{"cgroup.controllers": controllers + "\n"})
		}
		src := f[1]
		b.WriteString(strings.Join([]string{
			strconv.Itoa(30 + i), "23", "0:" + strconv.Itoa(40+i), "/", f[0], f[2], "shared:" + strconv.Itoa(i), "-", f[1], src, f[3],
		}, " ") + "\n")
	}
	return base, b.String()
}

func TestDetectFrom(t *testing.T) {
	allEnabled := "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\ncpuacct\t2\t1\t1\nmemory\t3\t1\t1\npids\t4\t1\t1\nfreezer\t5\t1\t1\n"
	type want struct {
		version int
		mount   string // relative to the temp dir; "" for none
		reason  string // substring; "" when usable
	}
	tests := []struct {
		name        string
		controllers string // the cgroup2 root's cgroup.controllers
		procCgroups string
		mounts      []string
		mode        Mode
		unified     string
		want        map[string]want
	}{
		{
			name: "hybrid with separate cpu and cpuacct",
			// hugetlb is the only controller left to the unified hierarchy.
			controllers: "hugetlb",
			procCgroups: allEnabled,
			mounts: []string{
				"$/cpu cgroup rw,nosuid rw,cpu",
				"$/cpuacct cgroup rw,nosuid rw,cpuacct",
				"$/memory cgroup rw,nosuid rw,memory",
				"$/pids cgroup rw,nosuid rw,pids",
				"$/freezer cgroup rw,nosuid rw,freezer",
				"$/systemd cgroup rw,nosuid rw,xattr,name=systemd",
				"$/unified cgroup2 rw,nosuid rw",
			},
			mode:    ModeHybrid,
			unified: "unified",
			want: map[string]want{
				"cpu": {1, "cpu", ""}, "cpuacct": {1, "cpuacct", ""}, "memory": {1, "memory", ""},
				"pids": {1, "pids", ""}, "freezer": {1, "freezer", ""},
			},
		},
		{
			name:        "v1 with cpu,cpuacct co-mounted",
			procCgroups: allEnabled,
			mounts: []string{
				`$/cpu,cpuacct cgroup rw rw,cpu,cpuacct`,
				"$/memory cgroup rw rw,memory",
				"$/freezer cgroup rw rw,freezer",
			},
			mode: ModeV1,
			want: map[string]want{
				"cpu": {1, "cpu,cpuacct", ""}, "cpuacct": {1, "cpu,cpuacct", ""}, "memory": {1, "memory", ""},
				"freezer": {1, "freezer", ""}, "pids": {0, "", "not mounted"},
			},
		},
		{
			name:        "pure v2",
			controllers: "cpuset cpu io memory hugetlb pids rdma misc",
			procCgroups: allEnabled,
			mounts:      []string{"$ cgroup2 rw,nosuid rw,nsdelegate,memory_recursiveprot"},
			mode:        ModeV2,
			unified:     ".",
			want: map[string]want{
				"cpu": {2, ".", ""}, "cpuacct": {2, ".", ""}, "memory": {2, ".", ""},
				"pids": {2, ".", ""}, "freezer": {2, ".", ""},
			},
		},
		{
			name:        "v2 without memory",
			controllers: "cpu pids",
			mounts:      []string{"$ cgroup2 rw rw"},
			mode:        ModeV2,
			unified:     ".",
			want: map[string]want{
				"cpu": {2, ".", ""}, "memory": {0, "", "not in"}, "pids": {2, ".", ""},
			},
		},
		{
			name:        "nothing mounted",
			procCgroups: allEnabled,
			mode:        ModeNone,
			want: map[string]want{
				"cpu": {0, "", "not mounted"}, "memory": {0, "", "not mounted"},
			},
		},
		{
			name:        "read-only v1 mount",
			procCgroups: allEnabled,
			mounts:      []string{"$/memory cgroup ro,nosuid ro,memory", "$/cpu cgroup rw rw,cpu"},
			mode:        ModeV1,
			want: map[string]want{
				"memory": {1, "memory", "read-only"}, "cpu": {1, "cpu", ""},
			},
		},
		{
			name:        "read-only unified",
			controllers: "cpu memory pids",
			mounts:      []string{"$ cgroup2 ro ro"},
			mode:        ModeV2,
			unified:     ".",
			want: map[string]want{
				"cpu": {2, ".", "read-only"}, "freezer": {2, ".", "read-only"},
			},
		},
		{
			name:        "disabled on the command line",
			procCgroups: "#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t1\t1\t1\nmemory\t0\t1\t0\n",
			mounts:      []string{"$/cpu cgroup rw rw,cpu"},
			mode:        ModeV1,
			want: map[string]want{
				"memory": {0, "", "disabled on the kernel command line"},
				"pids":   {0, "", "not built into the kernel"},
			},
		},
		{
			name:        "escaped mount point",
			procCgroups: allEnabled,
			mounts:      []string{`$/my\040cgroups/memory cgroup rw rw,memory`},
			mode:        ModeV1,
			want:        map[string]want{"memory": {1, "my cgroups/memory", ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, mi := fakeHost(t, tt.controllers, tt.mounts...)
			mounts, err := parseMountinfo(strings.NewReader(mi))
			if err != nil {
				t.Fatal(err)
			}
			var enabled map[string]bool
			if tt.procCgroups != "" {
				enabled = parseProcCgroups(tt.procCgroups)
			}
			info := detectFrom(mounts, enabled, 0)
			if info.Mode != tt.mode {
				t.Errorf("mode %q, want %q", info.Mode, tt.mode)
			}
			wantUnified := ""
			if tt.unified != "" {
				wantUnified = filepath.Join(base, tt.unified)
			}
			if info.Unified != wantUnified {
				t.Errorf("unified %q, want %q", info.Unified, wantUnified)
			}
			for name, w := range tt.want {
				c := info.Controllers[name]
				wantMount := ""
				if w.mount != "" {
					wantMount = filepath.Join(base, w.mount)
				}
				if c.Version != w.version || c.Mount != wantMount {
					t.Errorf("%s: v%d at %q, want v%d at %q", name, c.Version, c.Mount, w.version, wantMount)
				}
				if w.reason == "" && (!c.Usable || c.Reason != "") {
					t.Errorf("%s: unusable (%s), want usable", name, c.Reason)
				}
				if w.reason != "" && (c.Usable || !strings.Contains(c.Reason, w.reason)) {
					t.Errorf("%s: usable=%v reason %q, want unusable with %q", name, c.Usable, c.Reason, w.reason)
				}
			}
			s := info.String()
			if !strings.HasPrefix(s, string(tt.mode)) {
				t.Errorf("summary %q does not start with the mode", s)
			}
			for name, w := range tt.want {
				if w.reason != "" && !strings.Contains(s, name+"=unusable("+info.Controllers[name].Reason+")") {
					t.Errorf("summary %q does not say why %s is unusable", s, name)
				}
			}
		})
	}
}

func TestDetectOnHost(t *testing.T) {
	info, err := Detect()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("host: %s", info)
	if info.Mode == ModeNone {
		skipOrFail(t, "no cgroup hierarchy mounted")
	}
	for _, name := range used {
		c := info.Controllers[name]
		if c.Usable {
			if _, err := os.Stat(c.Mount); err != nil {
				t.Errorf("%s: mount %s: %v", name, c.Mount, err)
			}
		}
	}
}
