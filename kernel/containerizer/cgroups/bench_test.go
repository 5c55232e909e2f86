package cgroups

import (
	"fmt"
	"os/exec"
	"testing"
)

// BenchmarkCreateAddDestroy is the cgroup work of one container's life: create
// with limits, move a process in, kill and remove.
func BenchmarkCreateAddDestroy(b *testing.B) {
	info, err := Detect()
	if err != nil || !info.Usable("memory") {
		b.Skip("needs cgroups")
	}
	m, err := New(Config{Root: "strata/bench", Info: &info})
	if err != nil {
		b.Fatal(err)
	}
	defer m.RemoveRoot()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("c%d", i)
		cmd := exec.Command("/bin/sleep", "10")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if err := m.Create(id, Limits{CPUs: 0.5, MemBytes: 64 << 20}); err != nil {
			b.Fatal(err)
		}
		if err := m.Add(id, cmd.Process.Pid); err != nil {
			b.Fatal(err)
		}
		if err := m.Destroy(id); err != nil {
			b.Fatal(err)
		}
		cmd.Wait()
	}
}
