package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
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
			for _, err := range decodeYAML(b, &c) {
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

// decodeYAML decodes a configuration file into c and returns every problem
// in it, each named by its key path (rtmp.listen, relays[0].url) and line:
// unknown keys and values of the wrong form are left out, the rest is
// decoded.
func decodeYAML(b []byte, c *Config) []error {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(b)).Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file
		}
		return []error{err}
	}
	if len(doc.Content) == 0 {
		return nil
	}
	var errs []error
	prune(doc.Content[0], reflect.TypeFor[Config](), "", &errs)
	if err := doc.Content[0].Decode(c); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// prune checks node against type t, reporting and removing the keys t does
// not have and the scalars that do not decode into their field.
func prune(node *yaml.Node, t reflect.Type, path string, errs *[]error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if node.Kind == yaml.AliasNode && node.Alias != nil {
		node = node.Alias
	}
	at := func(n *yaml.Node, p string) string {
		if p == "" {
			p = "the document"
		}
		return fmt.Sprintf("%s (line %d)", p, n.Line)
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) || (t.Kind() != reflect.Struct && t.Kind() != reflect.Slice) {
		v := reflect.New(t)
		if err := node.Decode(v.Interface()); err != nil {
			*errs = append(*errs, fmt.Errorf("%s: %s", at(node, path), yamlReason(err)))
			node.Kind, node.Tag, node.Value, node.Content = yaml.ScalarNode, "!!null", "", nil
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			*errs = append(*errs, fmt.Errorf("%s: want a mapping of keys", at(node, path)))
			node.Kind, node.Tag, node.Value, node.Content = yaml.ScalarNode, "!!null", "", nil
			return
		}
		fields := map[string]reflect.Type{}
		var names []string
		for i := range t.NumField() {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag != "" && tag != "-" {
				fields[tag] = t.Field(i).Type
				names = append(names, tag)
			}
		}
		kept := node.Content[:0]
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				*errs = append(*errs, fmt.Errorf("%s: unknown key (known: %s)", at(k, join(path, k.Value)), strings.Join(sorted(names), ", ")))
				continue
			}
			prune(v, ft, join(path, k.Value), errs)
			kept = append(kept, k, v)
		}
		node.Content = kept
	case reflect.Slice:
		if node.Kind != yaml.SequenceNode {
			*errs = append(*errs, fmt.Errorf("%s: want a list", at(node, path)))
			node.Kind, node.Tag, node.Value, node.Content = yaml.ScalarNode, "!!null", "", nil
			return
		}
		for i, el := range node.Content {
			prune(el, t.Elem(), fmt.Sprintf("%s[%d]", path, i), errs)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// yamlReason is a decoding error without yaml.v3's "line N: cannot
// unmarshal" framing, which names Go types.
func yamlReason(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg := te.Errors[0]
		if _, after, ok := strings.Cut(msg, "cannot unmarshal "); ok {
			val, typ, _ := strings.Cut(after, " into ")
			if strings.HasPrefix(val, "!!") {
				_, val, _ = strings.Cut(val, " ") // the YAML tag
			}
			return fmt.Sprintf("%s is not a valid %s", val, goTypeWord(typ))
		}
		return msg
	}
	return err.Error()
}

// goTypeWord names a Go type for a user: "int" is a number, "bool" true or
// false.
func goTypeWord(typ string) string {
	switch {
	case strings.HasPrefix(typ, "int"), strings.HasPrefix(typ, "uint"):
		return "number"
	case typ == "bool":
		return "boolean (true or false)"
	case strings.HasPrefix(typ, "[]"):
		return "list"
	default:
		return "value"
	}
}
