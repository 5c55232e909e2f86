package events

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
)

var benchEvent = StatusUpdateEvent{
	SlaveID: "20240506-070809-16777343-5050-1-S0", TaskID: "web.instance-0b7e4c7a-0b9e-11ef-9a1c-0242ac120002._app.1",
	TaskStatus: "TASK_RUNNING", AppID: "/prod/web", Host: "agent-17.example.org",
	IPAddresses: []IPAddress{{IPAddress: "10.0.3.17", Protocol: "IPv4"}}, Ports: []int{31017, 31018},
	Version: "2024-05-06T07:08:09.123Z",
}

// BenchmarkPublish measures publishing a status_update_event to n subscribers that each read on
// their own goroutine, until every subscriber has received every event.
func BenchmarkPublish(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			bus, err := New(Options{QueueSize: 1 << 14, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer bus.Close()
			var wg sync.WaitGroup
			var mu sync.Mutex
			dropped := 0
			for range n {
				sub, err := bus.Subscribe(SubscribeOptions{})
				if err != nil {
					b.Fatal(err)
				}
				wg.Go(func() {
					for range b.N {
						if _, err := sub.Next(context.Background()); err != nil {
							mu.Lock()
							dropped++
							mu.Unlock()
							return
						}
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := bus.Emit(benchEvent); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(dropped), "dropped-subscribers")
		})
	}
}

// BenchmarkBaselineFanout is the baseline of BenchmarkPublish, measured in the same run: encode
// the same event with encoding/json and send it on n buffered channels, without ids, ring,
// envelope, frames, lock or metrics.
func BenchmarkBaselineFanout(b *testing.B) {
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			chans := make([]chan []byte, n)
			var wg sync.WaitGroup
			for i := range chans {
				ch := make(chan []byte, 1<<14)
				chans[i] = ch
				wg.Go(func() {
					for range b.N {
						<-ch
					}
				})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				data, err := json.Marshal(benchEvent)
				if err != nil {
					b.Fatal(err)
				}
				for _, ch := range chans {
					ch <- data
				}
			}
			wg.Wait()
		})
	}
}
