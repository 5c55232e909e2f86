package apps

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"strata/services/apps/events"
	"strata/services/apps/store"
)

// Event ids never repeat across runs of the service: after a clean stop they continue exactly,
// after a crash (no saveLast) they jump past every id the crashed run may have handed out.
func TestEventLogIDsSurviveRestarts(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "apps.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() *eventLog {
		t.Helper()
		l, err := openEventLog(ctx, st, prometheus.NewRegistry(), log)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	emit := func(l *eventLog, n int) uint64 {
		t.Helper()
		var id uint64
		for range n {
			if id, err = l.Emit(events.AppTerminatedEvent{AppID: "/a"}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}

	l := open()
	if last := emit(l, 3); last != 3 {
		t.Fatalf("first run: last id %d, want 3", last)
	}
	l.close()
	if err := l.saveLast(ctx); err != nil {
		t.Fatal(err)
	}
	l = open()
	if first := emit(l, 1); first != 4 {
		t.Fatalf("after a clean stop the ids go on at %d, want 4", first)
	}
	last := emit(l, 2*eventIDBlock) // past the first reservation: it is raised on the way
	l.close()                       // a crash: no saveLast
	l = open()
	if first := emit(l, 1); first <= last {
		t.Fatalf("after a crash the ids start at %d, not above the %d handed out", first, last)
	}
}
