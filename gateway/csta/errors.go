package csta

import "fmt"

// CSTAErrorCode is the switch's negative answer to a request. Exactly one
// category is set; its value is the reason (e.g. stateIncompatibility /
// noCallToAnswer). It is also an error, so Conn.Do returns it as one.
type CSTAErrorCode struct {
	Operation                      string `csta:"operation"`
	Security                       string `csta:"security"`
	StateIncompatibility           string `csta:"stateIncompatibility"`
	SystemResourceAvailibility     string `csta:"systemResourceAvailibility"` // sic, as the schema spells it
	SubscribedResourceAvailability string `csta:"subscribedResourceAvailability"`
	PerformanceManagement          string `csta:"performanceManagement"`
	PrivateData                    string `csta:"privateData"`
	PrivateErrorCode               string `csta:"privateErrorCode"`
	Unspecified                    string `csta:"unspecified"`
}

// Error categories, the element names of CSTAErrorCode's choice.
const (
	ErrCatOperation            = "operation"
	ErrCatSecurity             = "security"
	ErrCatStateIncompatibility = "stateIncompatibility"
	ErrCatSystemResource       = "systemResourceAvailibility"
	ErrCatSubscribedResource   = "subscribedResourceAvailability"
	ErrCatPerformance          = "performanceManagement"
	ErrCatPrivateData          = "privateData"
	ErrCatPrivateErrorCode     = "privateErrorCode"
	ErrCatUnspecified          = "unspecified"
)

// categories pairs each category with its field, in the schema's order.
func (e *CSTAErrorCode) categories() []struct {
	name  string
	value *string
} {
	return []struct {
		name  string
		value *string
	}{
		{ErrCatOperation, &e.Operation}, {ErrCatSecurity, &e.Security},
		{ErrCatStateIncompatibility, &e.StateIncompatibility}, {ErrCatSystemResource, &e.SystemResourceAvailibility},
		{ErrCatSubscribedResource, &e.SubscribedResourceAvailability}, {ErrCatPerformance, &e.PerformanceManagement},
		{ErrCatPrivateData, &e.PrivateData}, {ErrCatPrivateErrorCode, &e.PrivateErrorCode},
		{ErrCatUnspecified, &e.Unspecified},
	}
}

// NewError builds a CSTAErrorCode in one category (an unknown category
// becomes unspecified).
func NewError(category, value string) *CSTAErrorCode {
	e := &CSTAErrorCode{}
	for _, c := range e.categories() {
		if c.name == category {
			*c.value = value
			return e
		}
	}
	e.Unspecified = value
	return e
}

// Category returns the set category and its value.
func (e *CSTAErrorCode) Category() (category, value string) {
	for _, c := range e.categories() {
		if *c.value != "" {
			return c.name, *c.value
		}
	}
	return ErrCatUnspecified, ""
}

func (e *CSTAErrorCode) Error() string {
	cat, val := e.Category()
	return fmt.Sprintf("csta: switch refused: %s/%s", cat, val)
}

// Is makes errors.Is(err, NewError(cat, val)) match on category and value.
func (e *CSTAErrorCode) Is(target error) bool {
	t, ok := target.(*CSTAErrorCode)
	if !ok {
		return false
	}
	c1, v1 := e.Category()
	c2, v2 := t.Category()
	return c1 == c2 && v1 == v2
}
