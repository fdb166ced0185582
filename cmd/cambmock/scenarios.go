package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/cambmock/cambmock/mockserver"
)

const scenariosHelp = `Usage: cambmock scenarios [flags]

Lists the scenarios the mock can play: the built-in library, and the files
given with --scenarios. Off-spec scenarios serve answers openapi.yaml does
not allow, to test how clients cope with drift; the list says what each
breaks.

Example:
  cambmock scenarios --scenarios ./my-scenarios --format json
`

func listScenarios(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlags("scenarios", scenariosHelp, stdout, getenv)
	paths := fs.List("scenarios", "CAMBMOCK_SCENARIOS", string(os.PathListSeparator), "a scenario `file or folder` to load beside the built-ins; repeatable")
	format := fs.String("format", "CAMBMOCK_FORMAT", "text", "output `format`: text or json")
	specFile := fs.String("spec", "CAMBMOCK_SPEC", "", "check the scenarios against the OpenAPI document in `file` instead of the embedded one")
	if err := fs.parse(args); err != nil {
		return err
	}
	if *format != "text" && *format != "json" {
		return usageError("scenarios: --format %q is not text or json", *format)
	}
	spec, err := loadSpec(*specFile)
	if err != nil {
		return err
	}
	extra, err := loadScenarios(spec, *paths)
	if err != nil {
		return err
	}
	// The scenarios serve would play, checked as serve checks them (a
	// user's file cannot take a built-in's name).
	srv, err := mockserver.New(mockserver.WithSpec(spec), mockserver.WithScenarios(extra...))
	if err != nil {
		return usageError("%v", err)
	}
	all := srv.Scenarios()

	type item struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		OffSpec     bool     `json:"off_spec"`
		File        string   `json:"file"`
		Violations  []string `json:"violations,omitempty"`
	}
	var items []item
	for _, sc := range all {
		it := item{Name: sc.Name, Description: sc.Description, OffSpec: sc.OffSpec, File: sc.File}
		for _, v := range sc.Violations(spec) {
			it.Violations = append(it.Violations, v.String())
		}
		items = append(items, it)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(items)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSPEC\tDESCRIPTION")
	for _, it := range items {
		spec := "on"
		if it.OffSpec {
			spec = "off"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", it.Name, spec, it.Description)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	header := false
	for _, it := range items {
		for _, v := range it.Violations {
			if !header {
				fmt.Fprintln(stdout, "\nWhat the off-spec scenarios break:")
				header = true
			}
			fmt.Fprintf(stdout, "  %s: %s\n", it.Name, v)
		}
	}
	return nil
}
