package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"strata/kernel/containerizer/standby"
)

func newContainerInitCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "container-init",
		Hidden: true,
		Short:  "Set up a container and execute its program (started by the agent, not by hand)",
		Long: `Set up the container the agent is launching and execute its program in place: the agent
starts this process in the container's namespaces and cgroups, then hands it the sandbox, the
output files, the environment, the mounts, the user and the program to run (package
containerizer/standby). It is how executors that are not Strata's own start isolated.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			ok, err := standby.Await()
			if errors.Is(err, standby.ErrDiscarded) {
				return nil
			}
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("container-init: not started by an agent (no " + standby.EnvFD + ")")
			}
			// Await only returns after a successful launch when there was
			// nothing to execute.
			return errors.New("container-init: the agent gave no program to execute")
		},
	}
}
