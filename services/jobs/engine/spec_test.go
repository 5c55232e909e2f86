package engine

import (
	"os/exec"
	"testing"

	"strata/services/jobs/job"
)

// Chronos arguments reach a shell command as words, whatever they hold.
func TestShellArgumentsAreQuoted(t *testing.T) {
	j := &job.Job{ID: "j", Run: job.Run{Cmd: `printf '%s|'`, Shell: true, Cpus: 0.1, Mem: 32}}
	args := []string{"plain", "two words", "it's", "$(echo injected)", "; rm -rf /", ""}
	s := taskSpec(j, args)
	out, err := exec.Command("/bin/sh", "-c", s.Cmd).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "plain|two words|it's|$(echo injected)|; rm -rf /||"; string(out) != want {
		t.Fatalf("sh saw %q, want %q", out, want)
	}
	if len(taskSpec(&job.Job{ID: "k", Run: job.Run{Cmd: "x", Args: []string{"a"}}}, []string{"b c"}).Args) != 2 {
		t.Fatal("arguments of a non-shell command are appended as they are")
	}
}
