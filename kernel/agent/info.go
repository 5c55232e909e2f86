package agent

import (
	"fmt"
	"os"

	"strata/kernel/mesos/mesospb"
	"strata/kernel/mesos/resources"
)

// agentInfo builds the AgentInfo from the host and the configuration:
// detected resources, overridden per name by --resources, and
// --attributes.
func agentInfo(cfg *Config) (*mesospb.AgentInfo, error) {
	if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("agent: work dir: %w", err)
	}
	detected, err := resources.Detect(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("agent: detect resources: %w", err)
	}
	configured, err := resources.Parse(cfg.Resources, "")
	if err != nil {
		return nil, fmt.Errorf("agent: --resources: %w", err)
	}
	attrs, err := resources.ParseAttributes(cfg.Attributes)
	if err != nil {
		return nil, fmt.Errorf("agent: --attributes: %w", err)
	}
	hostname := cfg.Hostname
	port := int32(cfg.Port)
	return &mesospb.AgentInfo{
		Hostname:   &hostname,
		Port:       &port,
		Resources:  resources.WithDefaults(configured, detected),
		Attributes: attrs,
	}, nil
}
