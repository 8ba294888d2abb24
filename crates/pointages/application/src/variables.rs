//! Variables de paie: added to a pointage its caller may write while it is
//! brouillon or rejete, read back with their pointages.

use hub_kernel::CommandContext;
use hub_pointages_domain::{Pointage, VariablePaie};

use crate::input::VariableInput;
use crate::use_cases::{PointagesError, PointagesPorts};

hub_kernel::use_cases! {
    PointagesPorts;
    /// Adds a variable de paie to a pointage: whoever may write the pointage
    /// (its user, a responsable of its chantier, an admin), while it is
    /// brouillon or rejete; publishes `variable_paie.created`.
    CreateVariablePaie,
    /// The variables de paie of pointages the caller has already read (for
    /// answers that show them with their pointage).
    VariablesPointages,
}

impl CreateVariablePaie {
    pub async fn execute(
        &self,
        context: &CommandContext,
        input: VariableInput,
    ) -> Result<(VariablePaie, Pointage), PointagesError> {
        let nouvelle = input.validate()?;
        let ports = &self.ports;
        let pointage = ports.load_to_write(context, input.pointage_id).await?;
        let created_by = context.actor.map(|actor| actor.user_id);
        let (variable, event) =
            VariablePaie::create(&pointage, nouvelle, created_by, ports.clock.now())?;
        let envelope = context.wrap(&event, &*ports.clock)?;
        ports
            .pointages
            .insert_variable(&variable, &[envelope])
            .await?;
        Ok((variable, pointage))
    }
}

impl PointagesPorts {
    /// The variables de paie of `pointages` (no query when there are none).
    pub(crate) async fn variables_of(
        &self,
        pointages: &[Pointage],
    ) -> Result<Vec<VariablePaie>, PointagesError> {
        if pointages.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<_> = pointages.iter().map(Pointage::id).collect();
        Ok(self.pointages.variables(&ids).await?)
    }
}

impl VariablesPointages {
    pub async fn execute(
        &self,
        pointages: &[Pointage],
    ) -> Result<Vec<VariablePaie>, PointagesError> {
        self.ports.variables_of(pointages).await
    }
}
