package resources

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"strata/kernel/mesos/mesospb"
)

// DefaultPorts is the port range an agent offers unless told otherwise.
var DefaultPorts = Range{Begin: 31000, End: 32000}

// Host is the capacity of a machine, as detected or as given.
type Host struct {
	CPUs   int
	MemMB  uint64 // total memory
	DiskMB uint64 // size of the file system holding the work directory
}

// DefaultAgentResources returns the resources an agent offers by default on
// a host of the given size, following Mesos: all CPUs; memory less 1 GB, or
// half of it below 2 GB; disk less 5 GB when above 10 GB, else all of it;
// and ports [31000-32000]. GPUs are only offered when configured.
func DefaultAgentResources(cpus int, memMB, diskMB uint64) []*mesospb.Resource {
	mem := memMB / 2
	if memMB >= 2048 {
		mem = memMB - 1024
	}
	disk := diskMB
	if diskMB > 10240 {
		disk = diskMB - 5120
	}
	return []*mesospb.Resource{
		NewScalar(CPUs, float64(cpus)),
		NewScalar(Mem, float64(mem)),
		NewScalar(Disk, float64(disk)),
		NewRanges(Ports, DefaultPorts),
	}
}

// WithDefaults returns configured plus those of defaults whose names are not
// configured at all, as an agent completes its --resources flag.
func WithDefaults(configured, defaults []*mesospb.Resource) []*mesospb.Resource {
	have := make(map[string]bool, len(configured))
	for _, r := range configured {
		have[r.GetName()] = true
	}
	out := Clone(configured)
	for _, r := range defaults {
		if !have[r.GetName()] {
			out = append(out, Clone([]*mesospb.Resource{r})...)
		}
	}
	return out
}

// Detect returns the default agent resources of this machine (see
// DetectHost and DefaultAgentResources).
func Detect(workDir string) ([]*mesospb.Resource, error) {
	h, err := DetectHost(workDir)
	if err != nil {
		return nil, err
	}
	return DefaultAgentResources(h.CPUs, h.MemMB, h.DiskMB), nil
}

// DetectHost measures this machine: the usable CPUs, the total memory from
// /proc/meminfo, and the size of the file system holding workDir.
func DetectHost(workDir string) (Host, error) {
	h := Host{CPUs: runtime.NumCPU()}
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return h, fmt.Errorf("resources: detect memory: %w", err)
	}
	if h.MemMB, err = parseMemTotal(data); err != nil {
		return h, fmt.Errorf("resources: detect memory: %w", err)
	}
	if h.DiskMB, err = fsSizeMB(workDir); err != nil {
		return h, fmt.Errorf("resources: detect disk of %s: %w", workDir, err)
	}
	return h, nil
}

// parseMemTotal reads the MemTotal line of /proc/meminfo, in MB.
func parseMemTotal(data []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		fields := bytes.Fields(sc.Bytes())
		if len(fields) < 2 || string(fields[0]) != "MemTotal:" {
			continue
		}
		kb, err := strconv.ParseUint(string(fields[1]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("MemTotal %q: %w", fields[1], err)
		}
		if len(fields) >= 3 && string(fields[2]) != "kB" {
			return 0, fmt.Errorf("MemTotal in unexpected unit %q", fields[2])
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no MemTotal line")
}
