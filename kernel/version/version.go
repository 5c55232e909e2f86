package version

import "runtime"

// Set at link time by the Makefile; the defaults describe a plain `go build`.
var (
	Version   = "0.1.0-dev"
	GitSHA    = "unknown"
	GitBranch = "unknown"
	BuildDate = "unknown"
	BuildUser = "unknown"
)

// MesosVersion is the Apache Mesos release whose v1 APIs the kernel implements. Clients that gate
// features on the master version (for example on "1.x" prefixes) read it from /version.
const MesosVersion = "1.11.0"

// Info is the JSON shape of the /version endpoint.
type Info struct {
	Version   string  `json:"version"`
	Strata    string  `json:"strata_version"`
	GitSHA    string  `json:"git_sha"`
	GitBranch string  `json:"git_branch"`
	BuildDate string  `json:"build_date"`
	BuildTime float64 `json:"build_time"`
	BuildUser string  `json:"build_user"`
	GoVersion string  `json:"go_version"`
}

// Get returns the build identity of this binary.
func Get() Info {
	return Info{
		Version:   MesosVersion,
		Strata:    Version,
		GitSHA:    GitSHA,
		GitBranch: GitBranch,
		BuildDate: BuildDate,
		BuildUser: BuildUser,
		GoVersion: runtime.Version(),
	}
}
