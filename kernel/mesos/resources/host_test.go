package resources

import (
	"testing"
)

func TestDefaultAgentResources(t *testing.T) {
	tests := []struct {
		cpus          int
		mem, disk     uint64
		wantMem, want uint64
	}{
		{8, 16384, 102400, 15360, 97280},
		{2, 2048, 10240, 1024, 10240},
		{1, 2047, 10241, 1023, 5121},
		{1, 1000, 500, 500, 500},
		{4, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		rs := DefaultAgentResources(tc.cpus, tc.mem, tc.disk)
		if err := Validate(rs); err != nil {
			t.Fatal(err)
		}
		if got := Scalar(rs, CPUs); got != float64(tc.cpus) {
			t.Errorf("cpus = %v", got)
		}
		if got := Scalar(rs, Mem); got != float64(tc.wantMem) {
			t.Errorf("mem(%d) = %v, want %d", tc.mem, got, tc.wantMem)
		}
		if got := Scalar(rs, Disk); got != float64(tc.want) {
			t.Errorf("disk(%d) = %v, want %d", tc.disk, got, tc.want)
		}
		if got := FormatRanges(Ranges(rs, Ports)); got != "[31000-32000]" {
			t.Errorf("ports = %s", got)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	conf := mustParse(t, "cpus(ops):2;ports:[8000-8100]")
	got := WithDefaults(conf, DefaultAgentResources(4, 8192, 20480))
	if want := "cpus(ops):2; ports:[8000-8100]; mem:7168; disk:15360"; Format(got) != want {
		t.Fatalf("got %q, want %q", Format(got), want)
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"MemTotal:       16384000 kB\nMemFree: 1 kB\n", 16000, true},
		{"MemFree: 1 kB\nMemTotal: 2048 kB\n", 2, true},
		{"MemFree: 1 kB\n", 0, false},
		{"MemTotal: lots kB\n", 0, false},
		{"MemTotal: 5 MB\n", 0, false},
	}
	for _, tc := range tests {
		got, err := parseMemTotal([]byte(tc.in))
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMemTotal(%q) = %d, %v", tc.in, got, err)
		}
	}
}

func TestDetect(t *testing.T) {
	h, err := DetectHost(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if h.CPUs < 1 || h.MemMB == 0 || h.DiskMB == 0 {
		t.Fatalf("implausible host %+v", h)
	}
	rs, err := Detect(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if Scalar(rs, CPUs) != float64(h.CPUs) || Scalar(rs, Mem) == 0 {
		t.Fatalf("Detect = %s", Format(rs))
	}
	if _, err := DetectHost("/does/not/exist"); err == nil {
		t.Fatal("missing work dir accepted")
	}
}
