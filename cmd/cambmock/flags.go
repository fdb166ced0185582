package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// envFlags is a FlagSet whose flags also read an environment variable;
// a flag on the command line wins over its variable.
type envFlags struct {
	*flag.FlagSet
	getenv func(string) string
	envs   map[string]string // flag name -> variable
	defs   map[string]string // flag name -> built-in default, as help shows it
	errs   []error
	stdout io.Writer
	usage  func() // prints the help text to stdout
}

func newFlags(name, help string, stdout io.Writer, getenv func(string) string) *envFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	ef := &envFlags{FlagSet: fs, getenv: getenv, envs: map[string]string{}, defs: map[string]string{}, stdout: stdout}
	fs.Usage = func() {}
	ef.usage = func() {
		fs.SetOutput(stdout)
		defer fs.SetOutput(io.Discard)
		fmt.Fprint(fs.Output(), help)
		fmt.Fprintln(fs.Output(), "\nFlags:")
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			line := "  --" + f.Name
			if name != "" {
				line += " " + name
			}
			fmt.Fprintln(fs.Output(), line)
			text := usage
			// The built-in default, not the environment's value: help
			// must not print an API key, and reads the same everywhere.
			def := f.DefValue
			if d, ok := ef.defs[f.Name]; ok {
				def = d
			}
			if def != "" && def != "false" && def != "[]" && def != "0s" {
				text += " (default " + def + ")"
			}
			if env := ef.envs[f.Name]; env != "" {
				text += " [$" + env + "]"
			}
			fmt.Fprintln(fs.Output(), "      "+text)
		})
	}
	return ef
}

func (ef *envFlags) env(name, variable string) string {
	ef.envs[name] = variable
	return ef.getenv(variable)
}

func (ef *envFlags) badEnv(variable, value, want string) {
	ef.errs = append(ef.errs, fmt.Errorf("$%s=%q is not %s", variable, value, want))
}

// String defines a string flag that defaults to $variable, else def.
func (ef *envFlags) String(name, variable, def, usage string) *string {
	ef.defs[name] = def
	if v := ef.env(name, variable); v != "" {
		def = v
	}
	return ef.FlagSet.String(name, def, usage)
}

// Bool defines a bool flag that defaults to $variable, else false.
func (ef *envFlags) Bool(name, variable, usage string) *bool {
	def := false
	if v := ef.env(name, variable); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			ef.badEnv(variable, v, "true or false")
		}
		def = b
	}
	return ef.FlagSet.Bool(name, def, usage)
}

// Int defines an int flag that defaults to $variable, else def.
func (ef *envFlags) Int(name, variable string, def int, usage string) *int {
	ef.defs[name] = strconv.Itoa(def)
	if v := ef.env(name, variable); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			ef.badEnv(variable, v, "a whole number")
		} else {
			def = n
		}
	}
	return ef.FlagSet.Int(name, def, usage)
}

// Float64 defines a number flag that defaults to $variable, else def.
func (ef *envFlags) Float64(name, variable string, def float64, usage string) *float64 {
	if v := ef.env(name, variable); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			ef.badEnv(variable, v, "a number")
		} else {
			def = f
		}
	}
	return ef.FlagSet.Float64(name, def, usage)
}

// Duration defines a duration flag that defaults to $variable, else def.
func (ef *envFlags) Duration(name, variable string, def time.Duration, usage string) *time.Duration {
	ef.defs[name] = def.String()
	if v := ef.env(name, variable); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			ef.badEnv(variable, v, "a duration such as 30s")
		} else {
			def = d
		}
	}
	return ef.FlagSet.Duration(name, def, usage)
}

// List defines a repeatable flag that defaults to $variable split at sep.
func (ef *envFlags) List(name, variable, sep, usage string) *[]string {
	l := &listFlag{}
	ef.defs[name] = ""
	if v := ef.env(name, variable); v != "" {
		for _, item := range strings.Split(v, sep) {
			if item = strings.TrimSpace(item); item != "" {
				l.values = append(l.values, item)
			}
		}
		l.fromEnv = true
	}
	ef.FlagSet.Var(l, name, usage)
	return &l.values
}

type listFlag struct {
	values  []string
	fromEnv bool
}

func (l *listFlag) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(l.values, ",")
}

func (l *listFlag) Set(v string) error {
	if l.fromEnv {
		// The command line replaces the environment's list.
		l.values, l.fromEnv = nil, false
	}
	if v == "" {
		return fmt.Errorf("empty value")
	}
	l.values = append(l.values, v)
	return nil
}

// parse parses args, reporting bad environment variables and stray
// arguments as usage errors.
func (ef *envFlags) parse(args []string) error {
	ef.SetOutput(io.Discard)
	if err := ef.Parse(args); err != nil {
		if err == flag.ErrHelp {
			ef.usage()
			return errHelp
		}
		return usageError("%s: %v; run cambmock %s --help", ef.Name(), err, ef.Name())
	}
	if len(ef.errs) > 0 {
		return usageError("%s: %v", ef.Name(), ef.errs[0])
	}
	if ef.NArg() > 0 {
		return usageError("%s: unexpected argument %q; flags start with --", ef.Name(), ef.Arg(0))
	}
	return nil
}
