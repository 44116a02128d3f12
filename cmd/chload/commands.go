package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/spf13/cobra"

	"github.com/chload/chload/jobs"
	"github.com/chload/chload/sources"
	_ "github.com/chload/chload/sources/parquet" // registers "parquet"
	"github.com/chload/chload/writer"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// state is what commands may touch of the process: only main builds it
// from os.Args, os.Stdout and friends, so tests can run commands hermetically.
type state struct {
	args     []string
	stdout   io.Writer
	stderr   io.Writer
	lookup   func(string) (string, bool)
	terminal bool // stderr is a terminal: draw progress bars
	// progressEvery is how often progress is logged off a terminal.
	// Optional, defaults to 10 seconds.
	progressEvery time.Duration
	// clickhouse reaches the servers; nil (main) means the real ones,
	// tests set an in-memory house.
	clickhouse writer.Dialer
}

type globalFlags struct {
	vars      []string
	logLevel  string
	logFormat string
	output    string
	cpuProf   string
	memProf   string
}

func execute(ctx context.Context, st *state) int {
	var g globalFlags
	reported := false // the command printed its own report of the failure
	root := &cobra.Command{
		Use:           "chload",
		Short:         "Bulk loader for ClickHouse: Parquet files into tables, one partition per insert, sorted by the table key",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetArgs(st.args)
	root.SetOut(st.stdout)
	root.SetErr(st.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringArrayVar(&g.vars, "var", nil, "set a job-file variable, KEY=VALUE (wins over the environment; repeatable)")
	pf.StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&g.logFormat, "log-format", "text", "log format on stderr: text or json")
	pf.StringVar(&g.cpuProf, "cpu-profile", "", "write a CPU profile to this file (for bug reports)")
	pf.StringVar(&g.memProf, "mem-profile", "", "write a heap profile to this file at the end (for bug reports)")
	_ = pf.MarkHidden("cpu-profile")
	_ = pf.MarkHidden("mem-profile")
	root.PersistentPreRunE = func(c *cobra.Command, _ []string) error {
		if g.cpuProf == "" {
			return nil
		}
		f, err := os.Create(g.cpuProf)
		if err != nil {
			return usageError{err}
		}
		return pprof.StartCPUProfile(f)
	}
	root.PersistentPostRun = func(c *cobra.Command, _ []string) { stopProfiles(g) }

	sink := &logSink{base: st.stderr}
	load := func(path string) (*jobs.Job, *slog.Logger, error) {
		log, err := newLogger(sink, g.logLevel, g.logFormat)
		if err != nil {
			return nil, nil, usageError{err}
		}
		vars := map[string]string{}
		for _, kv := range g.vars {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, nil, usageError{fmt.Errorf("--var %q: write KEY=VALUE", kv)}
			}
			vars[k] = v
		}
		job, err := jobs.Load(path, jobs.LoadOptions{Vars: vars, Env: st.lookup})
		return job, log, err
	}
	outputFlag := func(c *cobra.Command) {
		c.Flags().StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	}
	checkOutput := func() error {
		if g.output != "text" && g.output != "json" {
			return usageError{fmt.Errorf("--output %q: use text or json", g.output)}
		}
		return nil
	}

	validate := &cobra.Command{
		Use:   "validate JOB.yaml",
		Short: "Check a job file offline: variables, keys, values, the source's own section",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			job, _, err := load(args[0])
			if err != nil {
				return err
			}
			src, err := sources.New(job.Source.Type, job.Source.Decoder())
			if err != nil {
				return &jobs.ConfigError{Path: args[0], Err: err}
			}
			src.Close()
			out, err := yaml.Marshal(job)
			if err != nil {
				return err
			}
			fmt.Fprintf(st.stdout, "job file %s is valid; as chload reads it (password masked):\n%s", args[0], out)
			return nil
		},
	}
	dry := &cobra.Command{
		Use:   "dry-run JOB.yaml",
		Short: "Show what a run would write, per partition, without writing",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			job, log, err := load(args[0])
			if err != nil {
				return err
			}
			rep, err := jobs.DryRun(c.Context(), job, jobs.RunParams{Logger: log, ClickHouse: st.clickhouse})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(st.stdout, rep)
			}
			printDryRun(st.stdout, rep)
			return nil
		},
	}
	outputFlag(dry)
	run := &cobra.Command{
		Use:   "run JOB.yaml",
		Short: "Load the job's source into its table; exit code 0 only when every row was written",
		Args:  exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			job, log, err := load(args[0])
			if err != nil {
				return err
			}
			if _, set := st.lookup("GOMEMLIMIT"); !set {
				// Keep the process within the job's memory budget.
				prev := debug.SetMemoryLimit(jobs.MemoryLimit(job.Write.MaxBufferBytes))
				defer debug.SetMemoryLimit(prev)
			}
			progress := &jobs.Progress{}
			stopProgress := showProgress(c.Context(), st, sink, log, progress)
			sum, err := jobs.Run(c.Context(), job, jobs.RunParams{Logger: log, Progress: progress, ClickHouse: st.clickhouse})
			stopProgress(err != nil)
			if sum != nil {
				reported = true
				if g.output == "json" {
					if jerr := writeJSON(st.stdout, summaryJSON(sum, err)); jerr != nil && err == nil {
						err = jerr
					}
				} else {
					printSummary(st.stdout, sum, err)
				}
			}
			return err
		},
	}
	outputFlag(run)
	root.AddCommand(validate, dry, run, &cobra.Command{
		Use:   "version",
		Short: "Print chload's version",
		Args:  exactArgs(0),
		Run:   func(c *cobra.Command, _ []string) { fmt.Fprintln(st.stdout, "chload", version) },
	})

	err := root.ExecuteContext(ctx)
	var ue usageError
	if err != nil && !errors.As(err, &ue) {
		// cobra's own refusal of the command line (an unknown command).
		if c, _, ferr := root.Find(st.args); ferr != nil && c == root {
			err = usageError{err}
		}
	}
	if err != nil {
		stopProfiles(g)
		fmt.Fprintf(st.stderr, "chload: %v\n", err)
		if g.output == "json" && !reported {
			_ = writeFailureJSON(st.stdout, err)
		}
	}
	return exitCode(err)
}

// stopProfiles ends the CPU profile and writes the heap profile, if asked.
func stopProfiles(g globalFlags) {
	if g.cpuProf != "" {
		pprof.StopCPUProfile()
	}
	if g.memProf != "" {
		if f, err := os.Create(g.memProf); err == nil {
			_ = pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d; usage: %s", c.Name(), n, len(args), c.UseLine())}
		}
		return nil
	}
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
