package extpack

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Schema is the extension's managed-storage schema
// (schema/managed_storage.json): the one list of settings an admin may set.
type Schema struct {
	Type       string               `json:"type"`
	Properties map[string]*Property `json:"properties"`
}

// Property is one setting of the schema: the subset of JSON Schema that
// Chrome's managed storage accepts and this schema uses.
type Property struct {
	Title       string    `json:"title"`
	Description string    `json:"description"`
	Type        string    `json:"type"`
	Enum        []any     `json:"enum"`
	Items       *Property `json:"items"`
}

// ParseSchema reads a managed-storage schema.
func ParseSchema(b []byte) (*Schema, error) {
	var s Schema
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("extpack: managed storage schema: %w", err)
	}
	if s.Type != "object" || len(s.Properties) == 0 {
		return nil, errors.New("extpack: managed storage schema: want an object with properties")
	}
	return &s, nil
}

// Keys are the schema's settings in a stable order.
func (s *Schema) Keys() []string {
	keys := make([]string, 0, len(s.Properties))
	for k := range s.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Validate checks settings against the schema and reports every problem
// at once (an unknown key, a wrong type, a value outside its enum), so an
// admin fixes the file in one go; Chrome would silently drop such values.
func (s *Schema) Validate(settings map[string]any) error {
	var errs []error
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := s.Properties[k]
		if !ok {
			errs = append(errs, fmt.Errorf("%s: not a setting of the extension (known: %s)", k, strings.Join(s.Keys(), ", ")))
			continue
		}
		if err := p.check(settings[k]); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", k, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("extpack: settings:\n%w", err)
	}
	return nil
}

func (p *Property) check(v any) error {
	switch p.Type {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want a string, got %v", v)
		}
		if len(p.Enum) > 0 && !slices.Contains(p.Enum, any(s)) {
			return fmt.Errorf("%q is not one of %v", s, p.Enum)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("want true or false, got %v", v)
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			return fmt.Errorf("want a number, got %v", v)
		}
	case "array":
		list, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want a list, got %v", v)
		}
		for i, item := range list {
			if p.Items == nil {
				continue
			}
			if err := p.Items.check(item); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
		}
	default:
		return fmt.Errorf("schema type %q is not supported by the templates", p.Type)
	}
	return nil
}
