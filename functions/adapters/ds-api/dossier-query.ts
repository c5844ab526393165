/**
 * The GraphQL documents we send to DS (API v2).
 *
 * The dossier query asks for exactly what schemas/ds-dossier.ts validates, with the aliases of
 * DS's own persisted query `ds-query-v2` (`checked: value`, `integerNumber: value`,
 * `decimalNumber: value`, `selected: value`, `byteSize: byteSizeBigInt`), so that typed values
 * of different GraphQL types never share a response key.
 *
 * Two DS rules shape it:
 * - DS resolves some champs to their real `__typename` only when the document contains a
 *   `... on X` fragment for X (DropDownListChamp, AddressChamp, DatetimeChamp, YesNoChamp,
 *   CommuneChamp, DepartementChamp, RegionChamp, PaysChamp, HeaderSectionChamp, ExplicationChamp);
 *   without it a drop-down comes back as a TextChamp, a yes/no as a CheckboxChamp, a datetime as a
 *   DateChamp. Hence one inline fragment per kind, even when it only asks for `__typename`.
 * - DS validates the whole document against its schema: one unknown type or field and the
 *   request fails. So we only name types and fields that DS's schema has (there is no
 *   `EmailChamp`: e-mails come back as TextChamp) and stay with what `ds-query-v2` asks for.
 *
 * test/unit/dossier-query.test.ts checks every field of the fixture and of the zod schemas
 * against this text.
 */

const FILE_FRAGMENT = /* GraphQL */ `
fragment FileFragment on File {
  __typename
  filename
  contentType
  checksum
  byteSize: byteSizeBigInt
  createdAt
  virusScanResult
  url
}`;

const ADDRESS_FRAGMENT = /* GraphQL */ `
fragment AddressFragment on Address {
  label
  type
  streetAddress
  streetNumber
  streetName
  postalCode
  cityName
  cityCode
  departmentName
  departmentCode
  regionName
  regionCode
}`;

const PERSONNE_MORALE_FRAGMENT = /* GraphQL */ `
fragment PersonneMoraleFragment on PersonneMorale {
  siret
  siegeSocial
  naf
  libelleNaf
  address { ...AddressFragment }
  entreprise {
    siren
    capitalSocial
    numeroTvaIntracommunautaire
    formeJuridique
    formeJuridiqueCode
    nomCommercial
    raisonSociale
    siretSiegeSocial
    codeEffectifEntreprise
    dateCreation
    nom
    prenom
  }
  association {
    rna
    titre
    objet
    dateCreation
    dateDeclaration
    datePublication
  }
}`;

const PERSONNE_PHYSIQUE_FRAGMENT = /* GraphQL */ `
fragment PersonnePhysiqueFragment on PersonnePhysique {
  civilite
  nom
  prenom
  email
}`;

const DEMANDEUR_FRAGMENT = /* GraphQL */ `
fragment DemandeurFragment on Demandeur {
  __typename
  ...PersonnePhysiqueFragment
  ...PersonneMoraleFragment
  ... on PersonneMoraleIncomplete { siret }
}`;

/** Every champ, top-level or inside a repetition row. */
const CHAMP_FRAGMENT = /* GraphQL */ `
fragment ChampFragment on Champ {
  __typename
  id
  champDescriptorId
  label
  stringValue
  updatedAt
  prefilled
  ... on TextChamp { value }
  ... on DropDownListChamp { value }
  ... on MultipleDropDownListChamp { values }
  ... on LinkedDropDownListChamp { primaryValue secondaryValue }
  ... on CheckboxChamp { checked: value }
  ... on YesNoChamp { selected: value }
  ... on IntegerNumberChamp { integerNumber: value }
  ... on DecimalNumberChamp { decimalNumber: value }
  ... on DateChamp { date }
  ... on DatetimeChamp { datetime }
  ... on CiviliteChamp { civilite: value }
  ... on PieceJustificativeChamp { files { ...FileFragment } }
  ... on AddressChamp {
    address { ...AddressFragment }
    commune { name code postalCode }
    departement { name code }
  }
  ... on CommuneChamp {
    commune { name code postalCode }
    departement { name code }
  }
  ... on DepartementChamp { departement { name code } }
  ... on RegionChamp { region { name code } }
  ... on PaysChamp { pays { name code } }
  ... on EpciChamp {
    epci { name code }
    departement { name code }
  }
  ... on SiretChamp { etablissement { __typename ...PersonneMoraleFragment } }
  ... on RNAChamp { rna { id title address { ...AddressFragment } } }
  ... on RNFChamp { rnf { id title address { ...AddressFragment } } }
  ... on EngagementJuridiqueChamp { engagementJuridique { montantEngage montantPaye } }
  ... on DossierLinkChamp { dossier { id number state } }
  ... on CarteChamp { geoAreas { id source description } }
  ... on HeaderSectionChamp { level }
  ... on ExplicationChamp { __typename }
}`;

/** A top-level champ: a repetition carries rows of ordinary champs (DS allows no deeper nesting). */
const ROOT_CHAMP_FRAGMENT = /* GraphQL */ `
fragment RootChampFragment on Champ {
  ...ChampFragment
  ... on RepetitionChamp {
    rows {
      id
      champs { ...ChampFragment }
    }
  }
}`;

const DOSSIER_FRAGMENT = /* GraphQL */ `
fragment DossierFragment on Dossier {
  __typename
  id
  number
  state
  archived
  prefilled
  dateDepot
  datePassageEnConstruction
  datePassageEnInstruction
  dateTraitement
  dateDerniereModification
  dateDerniereModificationChamps
  dateDerniereModificationAnnotations
  dateExpiration
  dateSuppressionParUsager
  motivation
  connectionUsager
  deposeParUnTiers
  prenomMandataire
  nomMandataire
  usager { email }
  demarche {
    id
    number
    title
    state
    revision { id }
  }
  groupeInstructeur {
    id
    number
    label
  }
  demandeur { ...DemandeurFragment }
  traitements {
    event
    dateTraitement
    emailAgentTraitant
    motivation
  }
  champs { ...RootChampFragment }
  annotations { ...RootChampFragment }
}`;

/** `dossier(number)`: one dossier, everything we store. Variables: `{ number }`. */
export const GET_DOSSIER_QUERY = /* GraphQL */ `
query getDossier($number: Int!) {
  dossier(number: $number) {
    ...DossierFragment
  }
}
${DOSSIER_FRAGMENT}
${ROOT_CHAMP_FRAGMENT}
${CHAMP_FRAGMENT}
${DEMANDEUR_FRAGMENT}
${PERSONNE_PHYSIQUE_FRAGMENT}
${PERSONNE_MORALE_FRAGMENT}
${ADDRESS_FRAGMENT}
${FILE_FRAGMENT}
`;

/**
 * One page of the dossiers of a démarche changed since `updatedSince` (inclusive, ordered by
 * DS's `updated_at`), for reconciliation: only what is needed to enqueue them. Page size at
 * most 100 (DS's cap and default).
 */
export const GET_DEMARCHE_DOSSIERS_QUERY = /* GraphQL */ `
query getDemarcheDossiers($demarche: Int!, $updatedSince: ISO8601DateTime, $after: String, $first: Int) {
  demarche(number: $demarche) {
    dossiers(updatedSince: $updatedSince, after: $after, first: $first) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number
        dateDerniereModification
        state
      }
    }
  }
}
`;

/** One page of the dossiers of a démarche deleted since `deletedSince` (DS spells it `dateSupression`). */
export const GET_DELETED_DOSSIERS_QUERY = /* GraphQL */ `
query getDeletedDossiers($demarche: Int!, $deletedSince: ISO8601DateTime, $after: String) {
  demarche(number: $demarche) {
    deletedDossiers(deletedSince: $deletedSince, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number
        state
        reason
        dateSupression
      }
    }
  }
}
`;

/**
 * One page of the dossiers of a démarche put in DS's bin since `deletedSince`
 * (`Demarche.pendingDeletedDossiers(deletedSince, after, ...)`: a DeletedDossierConnection, like
 * `deletedDossiers`; schema.graphql of demarche-numerique/demarche.numerique.gouv.fr @45541a2a).
 */
export const GET_PENDING_DELETED_DOSSIERS_QUERY = /* GraphQL */ `
query getPendingDeletedDossiers($demarche: Int!, $deletedSince: ISO8601DateTime, $after: String) {
  demarche(number: $demarche) {
    pendingDeletedDossiers(deletedSince: $deletedSince, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes {
        number
        state
        reason
        dateSupression
      }
    }
  }
}
`;
