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

// NewError builds a CSTAErrorCode in one category.
func NewError(category, value string) *CSTAErrorCode {
	e := &CSTAErrorCode{}
	switch category {
	case ErrCatOperation:
		e.Operation = value
	case ErrCatSecurity:
		e.Security = value
	case ErrCatStateIncompatibility:
		e.StateIncompatibility = value
	case ErrCatSystemResource:
		e.SystemResourceAvailibility = value
	case ErrCatSubscribedResource:
		e.SubscribedResourceAvailability = value
	case ErrCatPerformance:
		e.PerformanceManagement = value
	case ErrCatPrivateData:
		e.PrivateData = value
	case ErrCatPrivateErrorCode:
		e.PrivateErrorCode = value
	default:
		e.Unspecified = value
	}
	return e
}

// Category returns the set category and its value.
func (e *CSTAErrorCode) Category() (category, value string) {
	for _, c := range []struct{ cat, val string }{
		{ErrCatOperation, e.Operation}, {ErrCatSecurity, e.Security},
		{ErrCatStateIncompatibility, e.StateIncompatibility}, {ErrCatSystemResource, e.SystemResourceAvailibility},
		{ErrCatSubscribedResource, e.SubscribedResourceAvailability}, {ErrCatPerformance, e.PerformanceManagement},
		{ErrCatPrivateData, e.PrivateData}, {ErrCatPrivateErrorCode, e.PrivateErrorCode},
		{ErrCatUnspecified, e.Unspecified},
	} {
		if c.val != "" {
			return c.cat, c.val
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
