package executor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"strata/kernel/agent/fetcher"
)

// fetchGroup fetches the CommandInfo.uris of a group's tasks into their
// sandboxes in the background (logging to each task's stderr, as the Mesos
// fetcher does for a container), and then starts the group on the event
// loop. A kill of the group or a shutdown cancels the fetch; startGroup then
// ends the tasks without starting them. errs holds what already went wrong
// for each task; a task whose fetch fails fails with that error.
func (e *executor) fetchGroup(g *taskGroup, errs []error) {
	ctx, cancel := context.WithCancel(e.ctx)
	g.cancelFetch = cancel
	type job struct {
		i    int
		dir  string
		id   string
		uris []fetcher.URI
	}
	var jobs []job
	for i, t := range g.tasks {
		if errs[i] != nil {
			continue
		}
		var uris []fetcher.URI
		for _, u := range t.info.GetCommand().GetUris() {
			uris = append(uris, fetcher.URI{
				Value: u.GetValue(), Executable: u.GetExecutable(), Extract: u.GetExtract(),
				Cache: u.GetCache(), OutputFile: u.GetOutputFile(),
			})
		}
		if len(uris) > 0 {
			jobs = append(jobs, job{i: i, dir: t.dir, id: t.id(), uris: uris})
		}
	}
	e.log.Info(fmt.Sprintf("Fetching the URIs of %d tasks of task group %s", len(jobs), g.ids()))
	log, n := e.log, len(g.tasks)
	e.bg.Go(func() {
		defer cancel()
		fetched := make([]error, n)
		for _, j := range jobs {
			fetched[j.i] = fetchInto(ctx, j.dir, j.uris, log.With("task", j.id))
			if fetched[j.i] != nil {
				// The group cannot start: the other fetches are moot.
				break
			}
		}
		e.post(func() {
			g.cancelFetch = nil
			for i, err := range fetched {
				if err != nil && errs[i] == nil {
					errs[i] = err
				}
			}
			e.startGroup(g, errs)
		})
	})
}

// fetchInto fetches uris into a task's sandbox, logging to its stderr.
func fetchInto(ctx context.Context, dir string, uris []fetcher.URI, log *slog.Logger) error {
	out, err := os.OpenFile(filepath.Join(dir, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open the task's stderr for the fetcher: %w", err)
	}
	defer out.Close()
	log.Info(fmt.Sprintf("Fetching %d URIs into %s", len(uris), dir))
	if err := fetcher.Fetch(ctx, dir, uris, fetcher.Options{Log: out, Logger: log}); err != nil {
		return fmt.Errorf("failed to fetch the task's URIs: %w", err)
	}
	return nil
}

// cancelFetches cancels the fetches of every group, for a shutdown.
func (e *executor) cancelFetches() {
	for _, t := range e.tasks {
		if g := t.group; g != nil && g.cancelFetch != nil {
			g.cancelFetch()
		}
	}
}
