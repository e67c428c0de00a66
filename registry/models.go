package registry

import (
	"fmt"

	"github.com/sanbao/sanbao/policy"
)

// GTINTaken is PutModel's EConflict for a GTIN that is (or was) owner's.
func GTINTaken(gtin, owner string) error {
	return policy.Errorf(policy.EConflict, "gtin", "GTIN %s is model %s's: two models may not share a GTIN", gtin, owner).
		Keyed("model.gtin_taken", policy.Args{"gtin": gtin, "owner": owner})
}

// NoGTIN is ModelByGTIN's ENotFound.
func NoGTIN(gtin string) error {
	return policy.Errorf(policy.ENotFound, "gtin", "no model has GTIN %s", gtin)
}

// ModelAudit is the audit line of a model created or changed under policy p.
func ModelAudit(p *policy.Policy, m policy.Model, created bool) AuditLine {
	action := "model.update"
	if created {
		action = "model.create"
	}
	months := fmt.Sprintf("%d months", m.WarrantyMonths)
	if m.WarrantyMonths == 0 {
		// 0 stands for the policy's period, which may change later.
		months = fmt.Sprintf("default warranty (%d months)", p.Months(m.Kind))
	}
	detail := fmt.Sprintf("%s %q, %s", m.Kind, m.Name, months)
	if m.GTIN != "" {
		detail += ", GTIN " + m.GTIN
	}
	return AuditLine{action, m.SKU, detail}
}
