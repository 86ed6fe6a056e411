package gateway

import (
	"errors"
	"time"
)

// ContactChange is one row of a directory import or push from the CRM: a
// contact to add or replace (by code, with all its numbers), or, with
// Delete, a code to remove.
type ContactChange struct {
	// Line is the row's line in its file (1 is the first line), 0 when it
	// did not come from a file. Rejections name it.
	Line    int
	Delete  bool
	Contact Contact // only Code when Delete
}

// RowReject is a row an import refused, or, with Kept, the part of a row
// it dropped (a number that is not one) while keeping the contact; the
// reason is in words.
type RowReject struct {
	Line   int
	Code   string
	Reason string
	Kept   bool
}

// ImportOptions says how a directory import applies its rows.
type ImportOptions struct {
	// Full means the rows are the whole directory: contacts absent from
	// them are removed. Otherwise only the rows' contacts change, and
	// rows marked Delete remove theirs.
	Full bool
	// MaxRemoveShare refuses a full import that would remove more than
	// this share (0..1) of the directory, unless Force: a truncated or
	// empty export must not wipe it. Zero means DefaultMaxRemoveShare.
	MaxRemoveShare float64
	Force          bool
	// OnReject is told of every row refused while importing (a code seen
	// before in the same import); nil ignores them.
	OnReject func(RowReject)
}

// DefaultMaxRemoveShare is the share of the directory a full import may
// remove without Force.
const DefaultMaxRemoveShare = 0.1

// ImportReport counts what an import changed.
type ImportReport struct {
	Added, Updated, Unchanged, Removed, Rejected int
}

// ErrTooManyRemovals means a full import was refused, and nothing changed,
// because it would have removed more of the directory than allowed.
var ErrTooManyRemovals = errors.New("the import would remove more of the directory than allowed")

// APIToken is a credential a system such as the CRM presents to the
// gateway's API. Only its hash is stored.
type APIToken struct {
	Name     string
	Scope    string
	Created  time.Time
	LastUsed time.Time // zero if never used
	Revoked  time.Time // zero while it is valid
}

// ScopeDirectory lets a token change the customer directory.
const ScopeDirectory = "directory"
