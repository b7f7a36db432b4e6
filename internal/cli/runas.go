package cli

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/spf13/cobra"
)

// newRunAsCmd is the hidden helper the local mesh starts sidecars through: it drops to
// a uid and gid (the proxy's 1337, which the capture rules exclude) and execs the
// command in its place, inside whatever network namespace it was started in.
func newRunAsCmd() *cobra.Command {
	var uid, gid int
	cmd := &cobra.Command{
		Use:    "__runas --uid N --gid N -- COMMAND [ARGS...]",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := exec.LookPath(args[0])
			if err != nil {
				return err
			}
			if err := syscall.Setgroups([]int{gid}); err != nil {
				return fmt.Errorf("setgroups: %w", err)
			}
			if err := syscall.Setgid(gid); err != nil {
				return fmt.Errorf("setgid %d: %w", gid, err)
			}
			if err := syscall.Setuid(uid); err != nil {
				return fmt.Errorf("setuid %d: %w", uid, err)
			}
			return syscall.Exec(path, args, os.Environ())
		},
	}
	cmd.Flags().IntVar(&uid, "uid", 1337, "user id to run as")
	cmd.Flags().IntVar(&gid, "gid", 1337, "group id to run as")
	return cmd
}
