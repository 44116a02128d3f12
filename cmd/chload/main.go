// Command chload loads files into ClickHouse: see `chload --help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := execute(ctx, &state{
		args:     os.Args[1:],
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		lookup:   os.LookupEnv,
		terminal: isTerminal(os.Stderr),
	})
	stop()
	os.Exit(code)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
