package events

import (
	"errors"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

// The seed corpora are in testdata/fuzz/FuzzParseLastEventID and testdata/fuzz/FuzzResume.

func FuzzParseLastEventID(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		id, ok, err := ParseLastEventID(s)
		trimmed := strings.Trim(s, " \t")
		switch {
		case err != nil:
			if ok || id != 0 || !errors.Is(err, ErrBadLastEventID) {
				t.Fatalf("%q: %d, %t, %v", s, id, ok, err)
			}
			// The value is cut to 64 bytes, each quoted in at most 4.
			if len(err.Error()) > 400 {
				t.Fatalf("%q: error of %d bytes", s, len(err.Error()))
			}
		case !ok:
			if trimmed != "" || id != 0 {
				t.Fatalf("%q: not present but trimmed to %q, id %d", s, trimmed, id)
			}
		default:
			digits := strings.TrimLeft(trimmed, "0")
			if digits == "" {
				digits = "0"
			}
			if strconv.FormatUint(id, 10) != digits {
				t.Fatalf("%q: parsed %d", s, id)
			}
		}
	})
}

func FuzzResume(f *testing.F) {
	f.Fuzz(func(t *testing.T, header, query string) {
		r := resumeFrom(header, query)
		if strings.Trim(header, " \t") != "" {
			if alone := resumeFrom(header, ""); (r == nil) != (alone == nil) || r != nil && *r != *alone {
				t.Fatalf("header %q: query %q changed the result", header, query)
			}
		}
		if r == nil {
			return
		}
		if len(r.Raw) > 67 {
			t.Fatalf("Raw of %d bytes", len(r.Raw))
		}

		// A ring of 4 after 10 events holds 7..10.
		b, err := New(Options{RingSize: 4, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for range 10 {
			if _, err := b.Publish("tick", map[string]int{}); err != nil {
				t.Fatal(err)
			}
		}
		sub, err := b.Subscribe(SubscribeOptions{Resume: r})
		if err != nil {
			t.Fatal(err)
		}
		var got []*Event
		for {
			ev, ok, err := sub.poll()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			got = append(got, ev)
		}
		gap := len(got) > 0 && got[0].Type == TypeStreamGap
		exact := !r.Invalid && r.LastEventID >= 6 && r.LastEventID <= 10
		if gap == exact {
			t.Fatalf("resume %+v: gap %t", *r, gap)
		}
		want := uint64(7)
		if gap {
			if got[0].ID != 6 {
				t.Fatalf("gap id %d", got[0].ID)
			}
			got = got[1:]
		} else {
			want = r.LastEventID + 1
		}
		for _, ev := range got {
			if ev.ID != want {
				t.Fatalf("resume %+v: id %d, want %d", *r, ev.ID, want)
			}
			want++
		}
		if want != 11 {
			t.Fatalf("resume %+v: stopped before %d", *r, want)
		}
	})
}
