package readiness

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"strata/services/apps/app"
	"strata/services/apps/instance"
)

// Spec is one readiness check of one task.
type Spec struct {
	AppID, TaskID string
	// Name is the check's name (readinessChecks[].name).
	Name string
	// URL is what is queried.
	URL string
	// Interval is the pause between two GETs; Timeout bounds one.
	Interval, Timeout time.Duration
	// StatusCodes are the statuses that mean ready.
	StatusCodes []int
	// PreserveLastResponse keeps the last response in the Result.
	PreserveLastResponse bool
}

// ErrNoAddress is returned (wrapped) by Specs for an instance that has no address for the
// check's port yet.
var ErrNoAddress = errors.New("readiness: no address for the check's port")

// Specs returns the readiness checks of instance i of app a (nil when a has none).
func Specs(a *app.App, i *instance.Instance) ([]Spec, error) {
	var out []Spec
	for _, rc := range a.ReadinessChecks {
		addr, err := address(a, i, rc.PortName)
		if err != nil {
			return nil, fmt.Errorf("readiness: check %q of task %s: %w", rc.Name, i.TaskID, err)
		}
		out = append(out, Spec{
			AppID: a.ID, TaskID: i.TaskID, Name: rc.Name,
			URL:         strings.ToLower(rc.Protocol) + "://" + addr + rc.Path,
			Interval:    time.Duration(rc.IntervalSeconds) * time.Second,
			Timeout:     time.Duration(rc.TimeoutSeconds) * time.Second,
			StatusCodes: append([]int(nil), rc.HTTPStatusCodesForReady...), PreserveLastResponse: rc.PreserveLastResponse,
		})
	}
	return out, nil
}

// address is host:port of the app's port named portName on instance i: the host port on the
// instance's host, or, for a port without a host port (container networking), the container port
// on the instance's first IP address.
func address(a *app.App, i *instance.Instance, portName string) (string, error) {
	idx := a.PortIndex(portName)
	if idx < 0 {
		return "", fmt.Errorf("the app has no port named %q", portName)
	}
	if idx < len(i.Ports) && i.Ports[idx] != 0 {
		if i.Host == "" {
			return "", fmt.Errorf("%w: no host", ErrNoAddress)
		}
		return net.JoinHostPort(i.Host, strconv.Itoa(i.Ports[idx])), nil
	}
	if a.Container == nil || idx >= len(a.Container.PortMappings) {
		return "", fmt.Errorf("%w: port %q has no host port", ErrNoAddress, portName)
	}
	port := a.Container.PortMappings[idx].ContainerPort
	if port == 0 || len(i.IPAddresses) == 0 {
		return "", fmt.Errorf("%w: port %q has no host port and the task no IP address", ErrNoAddress, portName)
	}
	return net.JoinHostPort(i.IPAddresses[0], strconv.Itoa(port)), nil
}
