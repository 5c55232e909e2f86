package deploy

import (
	"fmt"

	"strata/services/apps/app"
)

// Service ports are assigned from Marathon's default range (local_port_min, local_port_max).
const (
	ServicePortMin = 10000
	ServicePortMax = 20000
)

// assignServicePorts gives every port definition with port 0 (unless requirePorts, where the
// port is the literal host port) and every port mapping with servicePort 0 a service port
// unique among the apps: the one the previous definition had at the same index if it is still
// free, else the lowest free one. Ports of other apps are in use.
func assignServicePorts(target, previous *app.App, others map[string]*app.App) error {
	used := map[int]bool{}
	for id, a := range others {
		if id == target.ID {
			continue
		}
		for _, p := range a.ServicePorts() {
			if p != 0 {
				used[p] = true
			}
		}
	}
	for _, p := range target.ServicePorts() {
		if p != 0 {
			used[p] = true
		}
	}
	var prev []int
	if previous != nil {
		prev = previous.ServicePorts()
	}
	next := ServicePortMin
	pick := func(i int) (int, error) {
		if i < len(prev) && prev[i] != 0 && !used[prev[i]] {
			used[prev[i]] = true
			return prev[i], nil
		}
		for ; next <= ServicePortMax; next++ {
			if !used[next] {
				used[next] = true
				return next, nil
			}
		}
		return 0, fmt.Errorf("no free service port in [%d, %d]", ServicePortMin, ServicePortMax)
	}
	if target.HostNetworking() {
		if target.RequirePorts {
			return nil
		}
		for i := range target.PortDefinitions {
			if target.PortDefinitions[i].Port == 0 {
				p, err := pick(i)
				if err != nil {
					return err
				}
				target.PortDefinitions[i].Port = p
			}
		}
		return nil
	}
	if target.Container == nil {
		return nil
	}
	for i := range target.Container.PortMappings {
		if target.Container.PortMappings[i].ServicePort == 0 {
			p, err := pick(i)
			if err != nil {
				return err
			}
			target.Container.PortMappings[i].ServicePort = p
		}
	}
	return nil
}
