package registry

import (
	"github.com/sanbao/sanbao/policy"
)

// Paging of Batch and Audit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func pageLimit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, policy.Errorf(policy.EInvalid, "limit", "limit must be between 1 and %d", MaxLimit)
	case limit == 0:
		return DefaultLimit, nil
	default:
		return min(limit, MaxLimit), nil
	}
}
