DROP TABLE planning_charge_affectations;
DROP TABLE planning_charge_chantiers;
DROP TABLE planning_charge_users;
DROP TABLE besoins_charge;
