package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "MOQGW_"

// Load returns Default() overlaid with the YAML file at path (if path is not
// empty) and then with MOQGW_* variables from environ (os.Environ() form).
// Unknown YAML keys are errors, so a typo never silently falls back to a
// default.
//
// On an error the returned Config still holds everything that could be
// read, so that the caller can validate it too and report every problem at
// once.
func Load(path string, environ []string) (Config, error) {
	c := Default()
	var errs []error
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("config: %w", err))
		} else {
			dec := yaml.NewDecoder(bytes.NewReader(b))
			dec.KnownFields(true)
			// yaml.v3 decodes what it can past unknown keys and type
			// errors, and lists them all in one error.
			if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
				errs = append(errs, fmt.Errorf("config %s: %w", path, err))
			}
		}
	}
	if err := applyEnv(&c, environ); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// applyEnv sets scalar fields from MOQGW_* variables. Every variable with
// the prefix must name a field: a misspelt override is an error.
func applyEnv(c *Config, environ []string) error {
	fields := map[string]reflect.Value{}
	collectEnv(reflect.ValueOf(c).Elem(), strings.TrimSuffix(EnvPrefix, "_"), fields)
	var errs []error
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		f, ok := fields[name]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no such setting", name))
			continue
		}
		if err := setScalar(f, val); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// collectEnv maps environment names to the scalar fields of struct v.
func collectEnv(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		f := v.Field(i)
		name := prefix + "_" + strings.ToUpper(tag)
		switch {
		case f.Addr().Type().Implements(textUnmarshaler):
			out[name] = f
		case f.Kind() == reflect.Struct:
			collectEnv(f, name, out)
		case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.String:
			out[name] = f // comma-separated
		case f.Kind() == reflect.String, f.Kind() == reflect.Bool, f.Kind() == reflect.Int:
			out[name] = f
		}
	}
}

func setScalar(f reflect.Value, s string) error {
	if u, ok := f.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return err
		}
		f.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return err
		}
		f.SetInt(int64(n))
	case reflect.Slice:
		var items []string
		for it := range strings.SplitSeq(s, ",") {
			if it = strings.TrimSpace(it); it != "" {
				items = append(items, it)
			}
		}
		f.Set(reflect.ValueOf(items))
	default:
		return fmt.Errorf("unsupported kind %s", f.Kind())
	}
	return nil
}
