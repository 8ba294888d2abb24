DROP TABLE variables_paie;
